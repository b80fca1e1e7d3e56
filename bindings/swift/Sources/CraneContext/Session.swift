import CraneContextBindings
import Foundation

/// A started, resumed or re-attached session. It heartbeats by itself (on
/// the SDK's threads) until it is ended or stopped, or the last reference to
/// it goes away.
///
/// ```swift
/// let session = try await client.startSession(agent: "my-agent", venture: "vc", repo: "owner/repo")
/// try await session.checkpoint(summary: "parser done", workCompleted: ["parser"], nextActions: ["tests"])
/// try await session.end(summary: "half way", payload: ["next": "tests"], keepOpen: true)  // v2: still active
/// try await session.end(summary: "done", payload: ["next": "review"])
/// ```
public final class Session: Sendable {
    private let handle: CraneContextBindings.SessionHandle
    /// The client that started or attached it: checkpoints are the client's calls.
    private let client: CraneContextBindings.CraneClient

    init(_ handle: CraneContextBindings.SessionHandle, client: CraneContextBindings.CraneClient) {
        self.handle = handle
        self.client = client
    }

    /// The session id (`sess_…`).
    public var id: String { handle.sessionId() }

    /// The session record as of start (or as cached when re-attached).
    public var info: SessionInfo { SessionInfo(handle.session()) }

    /// The server's answer to the start (`created`/`resumed`, docs); `nil` when re-attached.
    public var startInfo: StartInfo? { handle.startInfo().map(StartInfo.init) }

    /// When the next heartbeat is due, per the server.
    public var nextHeartbeatAt: Date { Timestamp.required(handle.nextHeartbeatAt()) }

    /// Whether automatic heartbeats are running.
    public var isBeating: Bool { handle.isBeating() }

    /// Records progress; also refreshes the heartbeat. Offline, it is queued
    /// ahead of this session's end.
    @discardableResult
    public func update(branch: String? = nil, commitSha: String? = nil) async throws -> UpdateResult {
        try await update(branch: branch, commitSha: commitSha, meta: Optional<[String: String]>.none)
    }

    /// Records progress with metadata (any `Encodable` value that encodes as a JSON object).
    @discardableResult
    public func update<Meta: Encodable>(branch: String? = nil, commitSha: String? = nil, meta: Meta?) async throws -> UpdateResult {
        let request = UpdateRequest(branch: branch, commitSha: commitSha, metaJson: try JSON.optionalText(meta, field: "meta"))
        return try await bridged { UpdateResult(try await handle.update(request: request)) }
    }

    /// Sends a heartbeat now and reschedules the next from the answer.
    @discardableResult
    public func heartbeat() async throws -> HeartbeatInfo {
        try await bridged { HeartbeatInfo(try await handle.heartbeatNow()) }
    }

    // MARK: Checkpoints (v2)

    /// Records a checkpoint: progress worth keeping before the session ends.
    /// It goes through the offline queue: stored now
    /// (``CheckpointResult/stored(_:)``, numbered within the session), or
    /// ``CheckpointResult/queued(localId:)`` when the server cannot be
    /// reached, then delivered later (after this session's earlier updates,
    /// before its end) and never stored twice.
    @discardableResult
    public func checkpoint(
        summary: String, workCompleted: [String] = [], blockers: [String] = [], nextActions: [String] = [],
        notes: String? = nil
    ) async throws -> CheckpointResult {
        let request = CheckpointRequest(
            summary: summary, workCompleted: workCompleted, blockers: blockers, nextActions: nextActions, notes: notes)
        return try await queueCheckpoint(client, sessionId: id, request)
    }

    /// This session's checkpoints as the server stores them, newest first
    /// (at most `limit`, else the server's default).
    public func checkpoints(limit: UInt32? = nil) async throws -> [Checkpoint] {
        try await listCheckpoints(client, sessionId: id, limit: limit)
    }

    // MARK: Ending

    /// Ends the session with a handoff whose payload is any `Encodable` value
    /// that encodes as a JSON object (a `struct`, a `[String: String]`, …).
    ///
    /// Returns ``EndResult/delivered(_:endedAt:)``, or ``EndResult/queued(localId:)``
    /// when the server cannot be reached: the handoff is then delivered later,
    /// automatically, exactly once. Heartbeats stop either way.
    ///
    /// `keepOpen` (v2) stores the handoff and leaves the session active and
    /// beating: the result is `.delivered(handoff, endedAt: nil)`, and it is
    /// sent now or throws (never queued); a v1 server refuses it with
    /// ``CraneError/invalidInput(_:field:)`` (`keep_session_open`) before
    /// anything is sent. `lastActivityAt` (v2) is when the agent last worked.
    @discardableResult
    public func end<Payload: Encodable>(
        summary: String, payload: Payload, statusLabel: String? = nil, toAgent: String? = nil,
        keepOpen: Bool = false, lastActivityAt: Date? = nil
    ) async throws -> EndResult {
        try await end(summary: summary, payloadJSON: try JSON.text(payload, field: "payload"),
                      statusLabel: statusLabel, toAgent: toAgent, keepOpen: keepOpen, lastActivityAt: lastActivityAt)
    }

    /// Ends the session with a handoff whose payload is JSON text of an object
    /// (`"{}"` by default); see ``end(summary:payload:statusLabel:toAgent:keepOpen:lastActivityAt:)``.
    @discardableResult
    public func end(
        summary: String, payloadJSON: String = "{}", statusLabel: String? = nil, toAgent: String? = nil,
        keepOpen: Bool = false, lastActivityAt: Date? = nil
    ) async throws -> EndResult {
        let request = EndRequest(
            summary: summary, payloadJson: payloadJSON, statusLabel: statusLabel, toAgent: toAgent,
            keepSessionOpen: keepOpen, lastActivityAt: lastActivityAt.map(Timestamp.format))
        return try await bridged { EndResult(try await handle.end(request: request)) }
    }

    /// Stops the automatic heartbeats (the session stays active on the server).
    public func stop() {
        handle.stop()
    }
}

/// `checkpoint_or_queue` and its conversion, shared by ``Session/checkpoint(summary:workCompleted:blockers:nextActions:notes:)``
/// and ``CraneClient/checkpoint(sessionId:summary:workCompleted:blockers:nextActions:notes:)``.
func queueCheckpoint(
    _ client: CraneContextBindings.CraneClient, sessionId: String, _ request: CheckpointRequest
) async throws -> CheckpointResult {
    try await bridged { CheckpointResult(try await client.checkpointOrQueue(sessionId: sessionId, request: request)) }
}

/// `checkpoints` and its conversion, shared by ``Session/checkpoints(limit:)``
/// and ``CraneClient/checkpoints(sessionId:limit:)``.
func listCheckpoints(
    _ client: CraneContextBindings.CraneClient, sessionId: String, limit: UInt32?
) async throws -> [Checkpoint] {
    try await bridged { try await client.checkpoints(sessionId: sessionId, limit: limit).map(Checkpoint.init) }
}
