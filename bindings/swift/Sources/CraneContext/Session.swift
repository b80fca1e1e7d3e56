import CraneContextBindings
import Foundation

/// A started, resumed or re-attached session. It heartbeats by itself (on
/// the SDK's threads) until it is ended or stopped, or the last reference to
/// it goes away.
public final class Session: Sendable {
    private let handle: CraneContextBindings.SessionHandle

    init(_ handle: CraneContextBindings.SessionHandle) {
        self.handle = handle
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

    /// Ends the session with a handoff whose payload is any `Encodable` value
    /// that encodes as a JSON object (a `struct`, a `[String: String]`, …).
    ///
    /// Returns ``EndResult/delivered(_:endedAt:)``, or ``EndResult/queued(localId:)``
    /// when the server cannot be reached: the handoff is then delivered later,
    /// automatically, exactly once. Heartbeats stop either way.
    @discardableResult
    public func end<Payload: Encodable>(
        summary: String, payload: Payload, statusLabel: String? = nil, toAgent: String? = nil
    ) async throws -> EndResult {
        try await end(summary: summary, payloadJSON: try JSON.text(payload, field: "payload"),
                      statusLabel: statusLabel, toAgent: toAgent)
    }

    /// Ends the session with a handoff whose payload is JSON text of an object
    /// (`"{}"` by default).
    @discardableResult
    public func end(
        summary: String, payloadJSON: String = "{}", statusLabel: String? = nil, toAgent: String? = nil
    ) async throws -> EndResult {
        let request = EndRequest(summary: summary, payloadJson: payloadJSON, statusLabel: statusLabel, toAgent: toAgent)
        return try await bridged { EndResult(try await handle.end(request: request)) }
    }

    /// Stops the automatic heartbeats (the session stays active on the server).
    public func stop() {
        handle.stop()
    }
}
