// The reads and writes of today's service (v2) on `CraneClient`, and the
// library's diagnostics (`ventures`, `verify`, `doctor`).
//
// One awaited generated call and a conversion each, like the rest of the
// client. Apart from notes and checkpoints (which go through the offline
// queue: see Notes.swift and Session.swift), these are sent now or fail with
// a connectivity error; the library decides retries. On a v1 server the v2
// routes answer `CraneError.notFound`.
import CraneContextBindings
import Foundation

extension CraneClient {
    // MARK: Sessions (v2)

    /// Records a checkpoint on any session by id (no ``Session`` needed),
    /// through the offline queue; see
    /// ``Session/checkpoint(summary:workCompleted:blockers:nextActions:notes:)``.
    @discardableResult
    public func checkpoint(
        sessionId: String, summary: String, workCompleted: [String] = [], blockers: [String] = [],
        nextActions: [String] = [], notes: String? = nil
    ) async throws -> CheckpointResult {
        let request = CheckpointRequest(
            summary: summary, workCompleted: workCompleted, blockers: blockers, nextActions: nextActions, notes: notes)
        return try await queueCheckpoint(native, sessionId: sessionId, request)
    }

    /// Any session's checkpoints by id, newest first (at most `limit`).
    public func checkpoints(sessionId: String, limit: UInt32? = nil) async throws -> [Checkpoint] {
        try await listCheckpoints(native, sessionId: sessionId, limit: limit)
    }

    /// The newest ended or abandoned session of (agent, venture, repo, track)
    /// within the last `withinHours` (default 48); `nil` if there is none.
    public func prior(
        agent: String, venture: String, repo: String, track: Int64? = nil, withinHours: UInt32? = nil
    ) async throws -> SessionInfo? {
        try await bridged {
            try await native.priorSession(
                agent: agent, venture: venture, repo: repo, track: track, withinHours: withinHours
            ).map(SessionInfo.init)
        }
    }

    /// The active sessions of a session group (see `sessionGroupId` of
    /// ``startSession(agent:venture:repo:track:issueNumber:branch:commitSha:host:clientName:clientVersion:metaJSON:clientSessionId:sessionGroupId:includeDocs:autoHeartbeat:)``),
    /// except `excluding` (usually the caller's own).
    public func siblings(group: String, excluding sessionId: String? = nil) async throws -> [Sibling] {
        try await bridged {
            try await native.siblings(sessionGroupId: group, excludeSessionId: sessionId).map(Sibling.init)
        }
    }

    /// Ended sessions per venture and day over the last `days` (the server's default when `nil`).
    public func history(days: UInt32? = nil) async throws -> [HistoryEntry] {
        try await bridged { try await native.sessionHistory(days: days).map(HistoryEntry.init) }
    }

    /// Records the minutes an agent worked on a session; each minute is stored once.
    @discardableResult
    public func recordActivity(sessionId: String, at times: [Date], source: String? = nil) async throws -> ActivityReport {
        let stamps = times.map(Timestamp.format)
        return try await bridged { try await native.recordActivity(sessionId: sessionId, times: stamps, source: source) }
    }

    /// Every active session, or those matching the given fields (any subset):
    /// v2's filters on `GET /active`. A stale session is listed too: see
    /// ``SessionInfo/lastHeartbeatAt``.
    public func active(
        agent: String? = nil, venture: String? = nil, repo: String? = nil, track: Int64? = nil
    ) async throws -> [SessionInfo] {
        let filter = ActiveFilter(agent: agent, venture: venture, repo: repo, track: track)
        return try await bridged { try await native.active(filter: filter).sessions.map(SessionInfo.init) }
    }

    // MARK: Handoffs (v2)

    /// Sets a handoff's status label and returns the handoff as stored.
    @discardableResult
    public func setHandoffStatus(_ handoffId: String, to label: HandoffStatusLabel) async throws -> Handoff {
        try await bridged { Handoff(try await native.setHandoffStatus(handoffId: handoffId, label: label)) }
    }

    /// Every handoff created in a date window (at or after `createdAfter`,
    /// strictly before `createdBefore`), newest first, optionally narrowed
    /// by `filter`, fetching pages as iteration needs them. Without a filter
    /// `createdAfter` is required (else the first iteration throws
    /// ``CraneError/invalidInput(_:field:)``).
    public func handoffsInWindow(
        _ filter: HandoffFilter? = nil, createdAfter: Date? = nil, createdBefore: Date? = nil,
        pageSize: UInt32? = nil
    ) -> AsyncThrowingStream<Handoff, Error> {
        let native = self.native
        let window = HandoffWindow(
            createdAfter: createdAfter.map(Timestamp.format), createdBefore: createdBefore.map(Timestamp.format))
        return CursorWalk<Handoff> { cursor in
            let page = try await bridged {
                try await native.handoffsInWindow(filter: filter, window: window, limit: pageSize, cursor: cursor)
            }
            return (page.handoffs.map(Handoff.init), page.hasMore ? page.nextCursor : nil)
        }.stream()
    }

    // MARK: Documents and configuration (v2)

    /// The global documents and the venture's (listed without content).
    public func docs(venture: String) async throws -> [Doc] {
        try await bridged { try await native.docs(venture: venture).map(Doc.init) }
    }

    /// One document with its content.
    public func doc(scope: String, name: String) async throws -> Doc {
        try await bridged { Doc(try await native.doc(scope: scope, docName: name)) }
    }

    /// One venture's documentation audit, or every venture's (`nil`).
    public func docAudits(venture: String? = nil) async throws -> [DocAudit] {
        try await bridged { try await native.docAudits(venture: venture).map(DocAudit.init) }
    }

    /// Who must approve a memory note before it is injected.
    public func memoryGate() async throws -> MemoryGate {
        try await bridged { try await native.memoryGate() }
    }

    // MARK: Ventures and diagnostics

    /// The server's ventures: from the local store while younger than a
    /// day, else from the server, else (unreachable) the stored list however
    /// old, marked ``VentureList/isStale``. A v1 server has none: ``CraneError/notFound(_:)``.
    public func ventures() async throws -> VentureList {
        try await bridged { VentureList(try await native.ventures()) }
    }

    /// Verifies the deployment: a throwaway session (of `venture`, else the
    /// library's default) through every route, each step timed. A failing
    /// step is a report (``VerifyReport/passed`` is `false`), not an error.
    public func verify(venture: String? = nil) async throws -> VerifyReport {
        try await bridged { VerifyReport(try await native.verify(venture: venture)) }
    }

    /// Diagnoses the server (reachability, clock, key, generation with its
    /// commit and schema version) and the local queue; given `repo`
    /// (`owner/name`), also the venture a session of it would be filed
    /// under and why (`venture` names one explicitly).
    public func doctor(repo: String? = nil, venture: String? = nil) async throws -> DoctorReport {
        try await bridged { DoctorReport(try await native.doctor(repo: repo, venture: venture)) }
    }
}
