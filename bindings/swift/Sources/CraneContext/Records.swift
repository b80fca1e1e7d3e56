// The records the SDK returns: the generated ones with `Date` for every
// timestamp and `Codable` access to JSON. Records the generated code already
// gives a Swift shape are re-exported as they are (see the typealiases).
import CraneContextBindings
import Foundation

/// Which handoffs ``CraneClient/handoffs(_:pageSize:)`` lists: `.session(sessionId:)`,
/// `.fromAgent(agent:)`, `.repo(venture:repo:)`, `.issue(venture:repo:issueNumber:)`
/// or `.track(venture:repo:track:)`.
public typealias HandoffFilter = CraneContextBindings.HandoffFilter
/// Which handoff ``CraneClient/latestHandoff(_:)`` looks for: `.session(sessionId:)`,
/// `.issue(venture:repo:issueNumber:)` or `.track(venture:repo:track:)`.
public typealias LatestHandoffQuery = CraneContextBindings.LatestHandoffQuery
/// How many items the local queue holds (`pending`, `dead`, `bytes`).
public typealias QueueCounts = CraneContextBindings.QueueCounts
/// What one ``CraneClient/sync()`` did (`delivered`, `retrying`, `dead`, `dropped`, `pending`).
public typealias SyncReport = CraneContextBindings.SyncReport
/// Overall health of the server: `.healthy`, `.degraded`, `.unhealthy`.
public typealias HealthStatus = CraneContextBindings.HealthStatus
/// Where a queued item stands: `.pending` or `.dead`.
public typealias ItemState = CraneContextBindings.ItemState

/// A stored handoff: what one agent leaves for the next.
public struct Handoff: Sendable, Equatable, Identifiable {
    /// `ho_` + ULID.
    public let id: String
    /// The session it ended.
    public let sessionId: String
    /// Venture code.
    public let venture: String
    /// Repository, `owner/name`.
    public let repo: String
    /// Track, if any.
    public let track: Int64?
    /// Issue number, if any.
    public let issueNumber: Int64?
    /// Branch when the session ended.
    public let branch: String?
    /// Commit when the session ended.
    public let commitSha: String?
    /// The agent that wrote it.
    public let fromAgent: String
    /// The intended next agent, if any.
    public let toAgent: String?
    /// Free-form status label, e.g. `in-progress`.
    public let statusLabel: String?
    /// One-line summary.
    public let summary: String
    /// The payload as canonical (RFC 8785) JSON text: the bytes ``payloadHash`` covers.
    public let payloadJSON: String
    /// Lowercase hex SHA-256 of ``payloadJSON``.
    public let payloadHash: String
    /// Length of ``payloadJSON`` in bytes.
    public let payloadSizeBytes: UInt64
    /// When it was stored.
    public let createdAt: Date
    /// Correlation id of the storing request.
    public let creationCorrelationId: String?

    /// The payload decoded as `T` (any `Decodable` matching its JSON object).
    public func payload<T: Decodable>(as type: T.Type = T.self) throws -> T {
        try JSON.decode(type, from: payloadJSON)
    }

    init(_ h: CraneContextBindings.Handoff) {
        id = h.id
        sessionId = h.sessionId
        venture = h.venture
        repo = h.repo
        track = h.track
        issueNumber = h.issueNumber
        branch = h.branch
        commitSha = h.commitSha
        fromAgent = h.fromAgent
        toAgent = h.toAgent
        statusLabel = h.statusLabel
        summary = h.summary
        payloadJSON = h.payloadJson
        payloadHash = h.payloadHash
        payloadSizeBytes = h.payloadSizeBytes
        createdAt = Timestamp.required(h.createdAt)
        creationCorrelationId = h.creationCorrelationId
    }
}

/// A work session as the server reports it.
public struct SessionInfo: Sendable, Equatable, Identifiable {
    /// `sess_` + ULID.
    public let id: String
    /// The agent name.
    public let agent: String
    /// Venture code.
    public let venture: String
    /// Repository, `owner/name`.
    public let repo: String
    /// Work track, if any.
    public let track: Int64?
    /// Issue number, if any.
    public let issueNumber: Int64?
    /// Git branch.
    public let branch: String?
    /// Git commit.
    public let commitSha: String?
    /// Client program name.
    public let client: String?
    /// Client program version.
    public let clientVersion: String?
    /// Host name the agent runs on.
    public let host: String?
    /// `active`, `ended`, `abandoned` (or `unknown` for a newer server's value).
    public let status: String
    /// When the record was created.
    public let createdAt: Date
    /// When the session started.
    public let startedAt: Date
    /// The last heartbeat.
    public let lastHeartbeatAt: Date
    /// When it ended, if it did.
    public let endedAt: Date?
    /// Why it ended: `manual`, `stale`, `superseded`, `error`, `unknown`.
    public let endReason: String?
    /// Caller metadata as JSON text.
    public let metaJSON: String?
    /// v2: the agent's own id for the session (e.g. its transcript's).
    public let clientSessionId: String?
    /// v2: the group of sessions working together.
    public let sessionGroupId: String?
    /// v2: when the agent last worked, as the last end reported it.
    public let lastActivityAt: Date?

    /// The metadata decoded as `T`; `nil` when the session has none.
    public func meta<T: Decodable>(as type: T.Type = T.self) throws -> T? {
        try metaJSON.map { try JSON.decode(type, from: $0) }
    }

    init(_ s: CraneContextBindings.Session) {
        id = s.id
        agent = s.agent
        venture = s.venture
        repo = s.repo
        track = s.track
        issueNumber = s.issueNumber
        branch = s.branch
        commitSha = s.commitSha
        client = s.client
        clientVersion = s.clientVersion
        host = s.host
        status = s.status
        createdAt = Timestamp.required(s.createdAt)
        startedAt = Timestamp.required(s.startedAt)
        lastHeartbeatAt = Timestamp.required(s.lastHeartbeatAt)
        endedAt = Timestamp.optional(s.endedAt)
        endReason = s.endReason
        metaJSON = s.metaJson
        clientSessionId = s.clientSessionId
        sessionGroupId = s.sessionGroupId
        lastActivityAt = Timestamp.optional(s.lastActivityAt)
    }
}

/// One documentation item delivered at session start.
public struct DocItem: Sendable, Equatable {
    /// File-like name of the doc.
    public let name: String
    /// The text.
    public let content: String
    /// Scope, e.g. `global` or a venture code.
    public let scope: String?
    /// Title.
    public let title: String?

    init(_ d: CraneContextBindings.DocItem) {
        name = d.docName
        content = d.content
        scope = d.scope
        title = d.title
    }
}

/// What the server answered when the session started or resumed.
public struct StartInfo: Sendable, Equatable {
    /// `created` or `resumed`.
    public let status: String
    /// When the server wants the first heartbeat.
    public let nextHeartbeatAt: Date
    /// The interval the server drew, seconds.
    public let heartbeatIntervalSeconds: UInt32
    /// The documentation bundle (empty unless asked for with `includeDocs`).
    public let docs: [DocItem]
    /// The last handoff of this tuple, on servers that send it.
    public let lastHandoff: Handoff?

    init(_ i: CraneContextBindings.StartInfo) {
        status = i.status
        nextHeartbeatAt = Timestamp.required(i.nextHeartbeatAt)
        heartbeatIntervalSeconds = i.heartbeatIntervalSeconds
        docs = i.docs.map(DocItem.init)
        lastHandoff = i.lastHandoff.map(Handoff.init)
    }
}

/// The answer to a heartbeat.
public struct HeartbeatInfo: Sendable, Equatable {
    /// The session.
    public let sessionId: String
    /// The recorded heartbeat time.
    public let lastHeartbeatAt: Date
    /// When the server wants the next one.
    public let nextHeartbeatAt: Date
    /// The interval the server drew, seconds.
    public let heartbeatIntervalSeconds: UInt32

    init(_ b: CraneContextBindings.HeartbeatInfo) {
        sessionId = b.sessionId
        lastHeartbeatAt = Timestamp.required(b.lastHeartbeatAt)
        nextHeartbeatAt = Timestamp.required(b.nextHeartbeatAt)
        heartbeatIntervalSeconds = b.heartbeatIntervalSeconds
    }
}

/// How an end went: delivered now, or safe in the offline queue (delivered
/// later, automatically, exactly once).
public enum EndResult: Sendable, Equatable {
    /// The server stored the handoff; `endedAt` is `nil` when a v2 server
    /// kept the session open.
    case delivered(Handoff, endedAt: Date?)
    /// The server could not be reached; the handoff waits in the local queue.
    case queued(localId: String)

    /// The stored handoff, when delivered.
    public var handoff: Handoff? {
        if case let .delivered(h, _) = self { return h }
        return nil
    }

    /// The queue item's id, when queued.
    public var localId: String? {
        if case let .queued(id) = self { return id }
        return nil
    }

    init(_ o: CraneContextBindings.EndOutcome) {
        switch o {
        case let .delivered(handoff, endedAt, _): self = .delivered(Handoff(handoff), endedAt: Timestamp.optional(endedAt))
        case let .queued(localId): self = .queued(localId: localId)
        }
    }
}

/// How an update went: applied now, or queued (ahead of the session's end).
public enum UpdateResult: Sendable, Equatable {
    /// The server applied it.
    case applied(updatedAt: Date, nextHeartbeatAt: Date)
    /// Queued for later delivery.
    case queued(localId: String)

    /// Whether the server applied it now.
    public var isApplied: Bool {
        if case .applied = self { return true }
        return false
    }

    init(_ o: CraneContextBindings.UpdateOutcome) {
        switch o {
        case let .applied(updatedAt, next, _):
            self = .applied(updatedAt: Timestamp.required(updatedAt), nextHeartbeatAt: Timestamp.required(next))
        case let .queued(localId): self = .queued(localId: localId)
        }
    }
}

/// What `GET /health` said (an unhealthy server is a report, not an error).
public struct HealthReport: Sendable, Equatable {
    /// Overall status.
    public let status: HealthStatus
    /// HTTP status of the answer.
    public let httpStatus: UInt16
    /// Service name, when given.
    public let service: String?
    /// Server version, when given.
    public let version: String?
    /// Individual checks by name, when given.
    public let checks: [String: Bool]
    /// The raw body as JSON text.
    public let rawJSON: String

    init(_ r: CraneContextBindings.HealthReport) {
        status = r.status
        httpStatus = r.httpStatus
        service = r.service
        version = r.version
        checks = Dictionary(r.checks.map { ($0.name, $0.ok) }, uniquingKeysWith: { _, last in last })
        rawJSON = r.rawJson
    }
}

/// A handoff read that still answers offline.
public struct CachedHandoff: Sendable, Equatable {
    /// The handoff, if any.
    public let handoff: Handoff?
    /// Whether it came from the local cache because the server was unreachable.
    public let isStale: Bool
    /// Age of a cached value, seconds.
    public let age: TimeInterval?

    init(_ c: CraneContextBindings.CachedHandoff) {
        handoff = c.handoff.map(Handoff.init)
        isStale = c.stale
        age = c.ageSeconds
    }
}

/// An update, handoff, checkpoint or note in the local offline queue.
public struct QueueItem: Sendable, Equatable, Identifiable {
    /// Local id (a ULID).
    public var id: String { localId }
    /// Local id (a ULID).
    public let localId: String
    /// `update`, `end`, `checkpoint` or `note`.
    public let kind: String
    /// The session it belongs to.
    public let sessionId: String
    /// The session's agent.
    public let agent: String
    /// The session's venture.
    public let venture: String
    /// The session's repository.
    public let repo: String
    /// The session's track, if any.
    public let track: Int64?
    /// The idempotency key every attempt is sent with.
    public let idempotencyKey: String
    /// Hash of a handoff's canonical payload (`end` items).
    public let payloadHash: String?
    /// Pending or dead.
    public let state: ItemState
    /// Failed attempts so far.
    public let attempts: UInt32
    /// When it was queued.
    public let createdAt: Date
    /// Not sent before this time.
    public let nextAttemptAt: Date
    /// Why the last attempt failed (or why it died).
    public let lastError: String?
    /// The server's correlation id for the last failed attempt.
    public let lastCorrelationId: String?
    /// The exact request body (JSON text).
    public let bodyJSON: String

    init(_ q: CraneContextBindings.QueueItem) {
        localId = q.localId
        kind = q.kind
        sessionId = q.sessionId
        agent = q.agent
        venture = q.venture
        repo = q.repo
        track = q.track
        idempotencyKey = q.idempotencyKey
        payloadHash = q.payloadHash
        state = q.state
        attempts = q.attempts
        createdAt = Timestamp.required(q.createdAt)
        nextAttemptAt = Timestamp.required(q.nextAttemptAt)
        lastError = q.lastError
        lastCorrelationId = q.lastCorrelationId
        bodyJSON = q.bodyJson
    }
}
