// Background events: typed, and delivered as `AsyncStream`s.
//
// The engine reports heartbeats, queueing and deliveries from its own
// threads through one listener. Every client installs a `Dispatcher` as that
// listener; it converts each event once and yields it to every open stream.
import CraneContextBindings
import Foundation

/// An error as carried inside an event.
public struct EventError: Sendable, Equatable {
    /// The Rust `Error::kind`: `network`, `timeout`, `server`, `session_not_active`, `validation`, …
    public let kind: String
    /// The full message.
    public let message: String
    /// The server's correlation id, if any.
    public let correlationId: String?

    init(_ e: CraneContextBindings.ErrorInfo) {
        kind = e.kind
        message = e.message
        correlationId = e.correlationId
    }
}

/// A background happening: see ``CraneClient/events()``.
public enum CraneEvent: Sendable, Equatable {
    /// A heartbeat was accepted; the next one is due at `nextHeartbeatAt`.
    case heartbeatSent(sessionId: String, nextHeartbeatAt: Date, intervalSeconds: UInt32)
    /// A heartbeat failed; it will be retried.
    case heartbeatFailed(sessionId: String, error: EventError, attempt: UInt32)
    /// The session ended or was abandoned elsewhere; its heartbeats stopped.
    case sessionLost(sessionId: String, error: EventError)
    /// An update could not be delivered now and waits in the offline queue.
    case updateQueued(sessionId: String, localId: String)
    /// A handoff could not be delivered now and waits in the offline queue.
    case handoffQueued(sessionId: String, localId: String)
    /// A queued update reached the server.
    case updateDelivered(sessionId: String, localId: String)
    /// A handoff reached the server (directly or from the queue).
    case handoffDelivered(sessionId: String, localId: String, handoffId: String, payloadHash: String)
    /// A handoff whose session ended or was abandoned without it was delivered
    /// in a new session of the same agent/venture/repo/track (re-homing, on by
    /// default); a `handoffDelivered` for the new session follows.
    case handoffRehomed(localId: String, fromSessionId: String, toSessionId: String, handoffId: String)
    /// A note queued offline reached the server.
    case noteDelivered(localId: String, noteId: String)
    /// A checkpoint queued offline reached the server (or was found stored by
    /// the read that confirms it before any resend).
    case checkpointDelivered(sessionId: String, localId: String, checkpointId: String, checkpointNumber: UInt32)
    /// A queued item failed permanently and moved to the dead-letter list.
    case itemDeadLettered(sessionId: String, localId: String, error: EventError)
    /// A queued update was dropped because its session is gone.
    case updateDropped(sessionId: String, localId: String, error: EventError)
    /// The server became reachable or unreachable.
    case connectivityChanged(online: Bool)

    init(_ e: CraneContextBindings.CraneEvent) {
        switch e {
        case let .heartbeatSent(sid, next, interval):
            self = .heartbeatSent(sessionId: sid, nextHeartbeatAt: Timestamp.required(next), intervalSeconds: interval)
        case let .heartbeatFailed(sid, error, attempt):
            self = .heartbeatFailed(sessionId: sid, error: EventError(error), attempt: attempt)
        case let .sessionLost(sid, error): self = .sessionLost(sessionId: sid, error: EventError(error))
        case let .updateQueued(sid, id): self = .updateQueued(sessionId: sid, localId: id)
        case let .handoffQueued(sid, id): self = .handoffQueued(sessionId: sid, localId: id)
        case let .updateDelivered(sid, id): self = .updateDelivered(sessionId: sid, localId: id)
        case let .handoffDelivered(sid, id, handoffId, hash):
            self = .handoffDelivered(sessionId: sid, localId: id, handoffId: handoffId, payloadHash: hash)
        case let .itemDeadLettered(sid, id, error):
            self = .itemDeadLettered(sessionId: sid, localId: id, error: EventError(error))
        case let .updateDropped(sid, id, error):
            self = .updateDropped(sessionId: sid, localId: id, error: EventError(error))
        case let .connectivityChanged(online): self = .connectivityChanged(online: online)
        case let .handoffRehomed(id, from, to, handoffId):
            self = .handoffRehomed(localId: id, fromSessionId: from, toSessionId: to, handoffId: handoffId)
        case let .noteDelivered(id, noteId): self = .noteDelivered(localId: id, noteId: noteId)
        case let .checkpointDelivered(sid, id, checkpointId, number):
            self = .checkpointDelivered(sessionId: sid, localId: id, checkpointId: checkpointId, checkpointNumber: number)
        }
    }
}

/// The listener every client installs: fans each event out to the open streams.
final class Dispatcher: CraneContextBindings.CraneListener, @unchecked Sendable {
    // `streams` and `closed` are only touched with `lock` held.
    private let lock = NSLock()
    private var streams: [UUID: AsyncStream<CraneEvent>.Continuation] = [:]
    private var closed = false

    func onEvent(event: CraneContextBindings.CraneEvent) throws {
        let typed = CraneEvent(event)
        lock.lock()
        let open = Array(streams.values)
        lock.unlock()
        for continuation in open {
            continuation.yield(typed)
        }
    }

    /// A stream of the events from now on; it finishes when the client closes.
    func stream() -> AsyncStream<CraneEvent> {
        AsyncStream { continuation in
            let id = UUID()
            lock.lock()
            let isClosed = closed
            if !isClosed {
                streams[id] = continuation
            }
            lock.unlock()
            if isClosed {
                continuation.finish()
                return
            }
            continuation.onTermination = { [weak self] _ in
                guard let self else { return }
                self.lock.lock()
                self.streams[id] = nil
                self.lock.unlock()
            }
        }
    }

    /// Finishes every stream (the client is closing).
    func finish() {
        lock.lock()
        closed = true
        let open = Array(streams.values)
        streams.removeAll()
        lock.unlock()
        for continuation in open {
            continuation.finish()
        }
    }
}
