// The records of today's service (v2): checkpoints, notes, siblings, the
// session history, documents and their audits, with `Date` for every
// timestamp and a Swift enum wherever the generated record carries a closed
// set of words as text. Generated records that already have a Swift shape
// (only numbers, or a generated enum) are re-exported as they are.
import CraneContextBindings
import Foundation

/// What ``CraneClient/recordActivity(sessionId:at:source:)`` kept: `recorded`
/// (minutes newly stored), `skipped` (already stored) and `skippedOutOfWindow`
/// (outside the session's lifetime).
public typealias ActivityReport = CraneContextBindings.ActivityReport
/// The labels ``CraneClient/setHandoffStatus(_:to:)`` accepts: `.done`,
/// `.inProgress`, `.blocked`, `.ready`.
public typealias HandoffStatusLabel = CraneContextBindings.HandoffStatusLabel
/// Who must approve a memory note before it is injected (``CraneClient/memoryGate()``):
/// `.captainApproved`, `.injectable`, `.either`, `.both`, or `.unknown` for a
/// value this SDK does not know.
public typealias MemoryGate = CraneContextBindings.MemoryGate

/// A stored checkpoint, as ``Session/checkpoints(limit:)`` lists it.
public struct Checkpoint: Sendable, Equatable, Identifiable {
    /// `cp_` + ULID.
    public let id: String
    /// Its number within the session, from 1.
    public let number: UInt32
    /// The session.
    public let sessionId: String
    /// Venture code.
    public let venture: String
    /// Repository, `owner/name`.
    public let repo: String
    /// Track, if any.
    public let track: Int64?
    /// Issue number, if any.
    public let issueNumber: Int64?
    /// Branch when it was recorded.
    public let branch: String?
    /// Commit when it was recorded.
    public let commitSha: String?
    /// One-line summary.
    public let summary: String?
    /// Items finished.
    public let workCompleted: [String]
    /// What is in the way.
    public let blockers: [String]
    /// What comes next.
    public let nextActions: [String]
    /// Free text.
    public let notes: String?
    /// When it was stored.
    public let createdAt: Date
    /// Correlation id of the storing request.
    public let correlationId: String?

    init(_ c: CraneContextBindings.Checkpoint) {
        id = c.id
        number = c.checkpointNumber
        sessionId = c.sessionId
        venture = c.venture
        repo = c.repo
        track = c.track
        issueNumber = c.issueNumber
        branch = c.branch
        commitSha = c.commitSha
        summary = c.summary
        workCompleted = c.workCompleted
        blockers = c.blockers
        nextActions = c.nextActions
        notes = c.notes
        createdAt = Timestamp.required(c.createdAt)
        correlationId = c.correlationId
    }
}

/// What the server answered when it stored a checkpoint: its id and number
/// (the full record is read back with ``Session/checkpoints(limit:)``).
public struct StoredCheckpoint: Sendable, Equatable, Identifiable {
    /// `cp_` + ULID.
    public let id: String
    /// Its number within the session, from 1.
    public let number: UInt32
    /// The session.
    public let sessionId: String
    /// When it was stored.
    public let createdAt: Date
    /// Correlation id of the storing request.
    public let correlationId: String?

    init(_ c: CraneContextBindings.CheckpointCreated) {
        id = c.checkpointId
        number = c.checkpointNumber
        sessionId = c.sessionId
        createdAt = Timestamp.required(c.createdAt)
        correlationId = c.correlationId
    }
}

/// How a checkpoint went: stored now, or safe in the offline queue (delivered
/// later, before the session's end, never stored twice).
public enum CheckpointResult: Sendable, Equatable {
    /// The server stored it.
    case stored(StoredCheckpoint)
    /// The server could not be reached; the checkpoint waits in the local queue.
    case queued(localId: String)

    /// What the server stored, when stored now.
    public var checkpoint: StoredCheckpoint? {
        if case let .stored(c) = self { return c }
        return nil
    }

    /// The queue item's id, when queued.
    public var localId: String? {
        if case let .queued(id) = self { return id }
        return nil
    }

    init(_ o: CraneContextBindings.CheckpointOutcome) {
        switch o {
        case let .stored(checkpoint): self = .stored(StoredCheckpoint(checkpoint))
        case let .queued(localId): self = .queued(localId: localId)
        }
    }
}

/// A stored note: knowledge an agent leaves for every later one.
public struct Note: Sendable, Equatable, Identifiable {
    /// `note_` + ULID.
    public let id: String
    /// Title.
    public let title: String?
    /// The text.
    public let content: String
    /// Tags.
    public let tags: [String]
    /// Venture code; `nil` for a global note.
    public let venture: String?
    /// Whether it is archived.
    public let isArchived: Bool
    /// When it was created.
    public let createdAt: Date
    /// When it last changed.
    public let updatedAt: Date
    /// The session that wrote it.
    public let authoredBySessionId: String?
    /// Its upsert key (derived from the content unless the writer gave one).
    public let sourceHash: String?
    /// Whether the curator allows injecting it into agent context.
    public let isInjectable: Bool

    init(_ n: CraneContextBindings.Note) {
        id = n.id
        title = n.title
        content = n.content
        tags = n.tags
        venture = n.venture
        isArchived = n.archived
        createdAt = Timestamp.required(n.createdAt)
        updatedAt = Timestamp.required(n.updatedAt)
        authoredBySessionId = n.authoredBySessionId
        sourceHash = n.sourceHash
        isInjectable = n.injectable
    }
}

/// How a note create went: stored now, or safe in the offline queue
/// (delivered later, once: a resend is an upsert on its source hash).
public enum NoteResult: Sendable, Equatable {
    /// The server stored it (or returned the identical note it already had).
    case stored(Note)
    /// The server could not be reached; the note waits in the local queue.
    case queued(localId: String)

    /// The stored note, when stored now.
    public var note: Note? {
        if case let .stored(n) = self { return n }
        return nil
    }

    /// The queue item's id, when queued.
    public var localId: String? {
        if case let .queued(id) = self { return id }
        return nil
    }

    init(_ o: CraneContextBindings.NoteOutcome) {
        switch o {
        case let .stored(note): self = .stored(Note(note))
        case let .queued(localId): self = .queued(localId: localId)
        }
    }
}

/// Where a note belongs: to every venture, or to one.
public enum NoteScope: Sendable, Equatable {
    /// A global note.
    case global
    /// A note of one venture (its code).
    case venture(String)
}

/// One page of notes (``CraneClient/Notes/page(venture:includeGlobal:tags:query:includeArchived:pageSize:cursor:)``).
public struct NotePage: Sendable, Equatable {
    /// The notes on this page, newest first.
    public let notes: [Note]
    /// Notes matching on every page.
    public let totalMatching: UInt64
    /// Cursor of the next page; `nil` on the last one.
    public let nextCursor: String?

    init(_ p: CraneContextBindings.NotePage) {
        notes = p.notes.map(Note.init)
        totalMatching = p.totalMatching
        nextCursor = p.nextCursor
    }
}

/// An active session of the same group (``CraneClient/siblings(group:excluding:)``).
public struct Sibling: Sendable, Equatable, Identifiable {
    /// Session id.
    public let id: String
    /// Its agent.
    public let agent: String
    /// Venture code.
    public let venture: String
    /// Repository, `owner/name`.
    public let repo: String
    /// Track, if any.
    public let track: Int64?
    /// Issue number, if any.
    public let issueNumber: Int64?
    /// Branch.
    public let branch: String?
    /// Its last heartbeat (a stale session is listed too).
    public let lastHeartbeatAt: Date

    init(_ s: CraneContextBindings.Sibling) {
        id = s.id
        agent = s.agent
        venture = s.venture
        repo = s.repo
        track = s.track
        issueNumber = s.issueNumber
        branch = s.branch
        lastHeartbeatAt = Timestamp.required(s.lastHeartbeatAt)
    }
}

/// One block of work within a day of ``HistoryEntry``.
public struct HistoryBlock: Sendable, Equatable {
    /// When it started.
    public let start: Date
    /// When it ended.
    public let end: Date
    /// Sessions in the block.
    public let sessionCount: UInt32
    /// Hosts seen.
    public let hosts: [String]
    /// Repositories seen.
    public let repos: [String]
    /// Branches seen.
    public let branches: [String]
    /// Issues seen.
    public let issues: [Int64]

    init(_ b: CraneContextBindings.HistoryBlock) {
        start = Timestamp.required(b.start)
        end = Timestamp.required(b.end)
        sessionCount = b.sessionCount
        hosts = b.hosts
        repos = b.repos
        branches = b.branches
        issues = b.issues
    }
}

/// One venture's work on one day (``CraneClient/history(days:)``).
public struct HistoryEntry: Sendable, Equatable {
    /// Venture code.
    public let venture: String
    /// The day, `YYYY-MM-DD` in the service's UTC−7 calendar.
    public let workDate: String
    /// Blocks of work, in order.
    public let blocks: [HistoryBlock]
    /// Ended sessions that day.
    public let totalSessions: UInt32

    init(_ e: CraneContextBindings.HistoryEntry) {
        venture = e.venture
        workDate = e.workDate
        blocks = e.blocks.map(HistoryBlock.init)
        totalSessions = e.totalSessions
    }
}

/// A document of the service (``CraneClient/docs(venture:)``, ``CraneClient/doc(scope:name:)``).
public struct Doc: Sendable, Equatable {
    /// `global` or a venture code.
    public let scope: String
    /// File-like name.
    public let name: String
    /// Title.
    public let title: String?
    /// Version, bumped on every change.
    public let version: Int64?
    /// SHA-256 of the content.
    public let contentHash: String?
    /// The text (empty in a listing).
    public let content: String
    /// What it is about.
    public let description: String?

    init(_ d: CraneContextBindings.Doc) {
        scope = d.scope
        name = d.docName
        title = d.title
        version = d.version
        contentHash = d.contentHash
        content = d.content
        description = d.description
    }
}

/// One venture's documentation audit (``CraneClient/docAudits(venture:)``).
public struct DocAudit: Sendable, Equatable {
    /// How complete a venture's documentation is.
    public enum Status: String, Sendable, Equatable {
        /// Every required document is present and fresh.
        case complete
        /// A required document is missing.
        case incomplete
        /// Every required document exists, some are stale.
        case warning
        /// A status this SDK does not know.
        case unknown
    }

    /// Venture code.
    public let venture: String
    /// Venture name.
    public let ventureName: String
    /// The audit's outcome.
    public let status: Status
    /// Names of required documents that do not exist.
    public let missing: [String]
    /// Names of documents past the staleness threshold.
    public let stale: [String]
    /// Names of documents present and fresh.
    public let present: [String]
    /// One line.
    public let summary: String

    init(_ a: CraneContextBindings.DocAudit) {
        venture = a.venture
        ventureName = a.ventureName
        status = Status(rawValue: a.status) ?? .unknown
        missing = a.missing
        stale = a.stale
        present = a.present
        summary = a.summary
    }
}
