// What the server knows about itself and what the library finds about a
// deployment: the venture list (`ventures()`), `verify()` and `doctor()`.
// The reports are the Rust library's own (crate::verify, crate::doctor); this
// file only gives them Swift types: `TimeInterval` for durations, enums for
// the generation and outcomes.
import CraneContextBindings
import Foundation

/// How a step of ``VerifyReport`` came out: `.pass`, `.fail`, or `.skip`
/// (not run: an earlier step it needs failed).
public typealias StepResult = CraneContextBindings.StepResult
/// How a check of ``DoctorReport`` came out: `.ok`, `.info` (a fact),
/// `.warn` (works, worth a look) or `.fail` (broken).
public typealias CheckLevel = CraneContextBindings.CheckLevel

/// Which generation of the Crane Context service a server speaks.
public enum ServerGeneration: String, Sendable, Equatable {
    /// The January worker (`/eod`).
    case v1
    /// Today's service (`/eos`, checkpoints, notes, ventures).
    case v2
}

/// One venture the server knows (``CraneClient/ventures()``).
public struct Venture: Sendable, Equatable, Identifiable {
    /// Its code, e.g. `vc`: what a session start takes as `venture`.
    public var id: String { code }
    /// Its code, e.g. `vc`.
    public let code: String
    /// Its display name.
    public let name: String?
    /// The GitHub organisation its repositories live in.
    public let org: String?
    /// Its repositories' names (without owner).
    public let repos: [String]
    /// What it is set up for, e.g. `has_api`.
    public let capabilities: [String]
    /// Status, stage, tagline… as the server sent them (JSON text of an object).
    public let portfolioJSON: String?

    /// The portfolio decoded as `T`; `nil` when the server sent none.
    public func portfolio<T: Decodable>(as type: T.Type = T.self) throws -> T? {
        try portfolioJSON.map { try JSON.decode(type, from: $0) }
    }

    init(_ v: CraneContextBindings.Venture) {
        code = v.code
        name = v.name
        org = v.org
        repos = v.repos
        capabilities = v.capabilities
        portfolioJSON = v.portfolioJson
    }
}

/// The server's venture list and where it came from.
public struct VentureList: Sendable, Equatable {
    /// The ventures, in the server's order.
    public let ventures: [Venture]
    /// Whether the server was unreachable and this is the stored list.
    public let isStale: Bool
    /// How old the stored list is, seconds; `nil` when fetched just now.
    public let age: TimeInterval?

    init(_ l: CraneContextBindings.VentureList) {
        ventures = l.ventures.map(Venture.init)
        isStale = l.stale
        age = l.ageMs.map { Double($0) / 1000 }
    }
}

/// One timed step of ``VerifyReport``.
public struct VerifyStep: Sendable, Equatable {
    /// Its name, e.g. `end with handoff`.
    public let name: String
    /// Pass, fail or skip.
    public let result: StepResult
    /// How long it took, seconds; `nil` when skipped.
    public let latency: TimeInterval?
    /// What was seen.
    public let detail: String

    init(_ s: CraneContextBindings.VerifyStep) {
        name = s.name
        result = s.result
        latency = s.latencyMs.map { Double($0) / 1000 }
        detail = s.detail
    }
}

/// What ``CraneClient/verify(venture:)`` found: a throwaway session taken
/// through every route, step by step.
public struct VerifyReport: Sendable, Equatable {
    /// The server verified.
    public let url: String
    /// The generation it speaks, when it could be told.
    public let generation: ServerGeneration?
    /// The venture of the throwaway session.
    public let venture: String
    /// The throwaway repository.
    public let repo: String
    /// Whether every step passed.
    public let passed: Bool
    /// The steps, in order.
    public let steps: [VerifyStep]

    init(_ r: CraneContextBindings.VerifyReport) {
        url = r.url
        generation = r.generation.flatMap(ServerGeneration.init(rawValue:))
        venture = r.venture
        repo = r.repo
        passed = r.passed
        steps = r.steps.map(VerifyStep.init)
    }
}

/// One check of ``DoctorReport``.
public struct DoctorCheck: Sendable, Equatable {
    /// Its name, e.g. `generation`.
    public let name: String
    /// How it came out.
    public let level: CheckLevel
    /// What was seen.
    public let detail: String

    init(_ c: CraneContextBindings.DoctorCheck) {
        name = c.name
        level = c.level
        detail = c.detail
    }
}

/// What ``CraneClient/doctor(repo:venture:)`` found about the server, the
/// key, the clock, the local queue and (given a repository) its venture.
public struct DoctorReport: Sendable, Equatable {
    /// Whether no check failed.
    public let isOK: Bool
    /// The checks, in order.
    public let checks: [DoctorCheck]
    /// The generation the server speaks, when it could be told.
    public let generation: ServerGeneration?
    /// The server's deployed commit (v2).
    public let serverCommit: String?
    /// The server's database schema version (v2).
    public let schemaVersion: Int64?
    /// The venture a session of the given repository would be filed under.
    public let venture: String?
    /// Why that venture.
    public let ventureReason: String?

    init(_ r: CraneContextBindings.DoctorReport) {
        isOK = r.ok
        checks = r.checks.map(DoctorCheck.init)
        generation = r.generation.flatMap(ServerGeneration.init(rawValue:))
        serverCommit = r.serverCommit
        schemaVersion = r.schemaVersion
        venture = r.venture
        ventureReason = r.ventureReason
    }
}
