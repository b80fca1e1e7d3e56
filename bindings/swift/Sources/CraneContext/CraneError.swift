import CraneContextBindings
import Foundation

/// Everything that can go wrong calling Crane Context.
///
/// One case per actionable kind of the Rust library's error, so `catch` can
/// pick what to handle:
///
/// ```swift
/// do {
///     _ = try await client.startSession(agent: "a", venture: "vc", repo: "o/r")
/// } catch CraneError.unauthorized(let details) {
///     print("wrong key; correlation id", details.correlationId ?? "-")
/// }
/// ```
///
/// Every case carries ``Details`` (the full message and the server's
/// correlation id) plus the fields the Rust variant has.
public enum CraneError: Error, Sendable, Equatable, CustomStringConvertible, LocalizedError {
    /// The message and correlation id every case carries.
    public struct Details: Sendable, Equatable {
        /// What went wrong, in full (it names the correlation id when there is one).
        public let message: String
        /// The server's correlation id; `nil` when the server did not answer.
        public let correlationId: String?
    }

    /// A field the server (or local validation) rejected.
    public struct FieldError: Sendable, Equatable {
        /// The field, e.g. `agent`.
        public let field: String
        /// What is wrong with it.
        public let message: String
    }

    /// The relay key is missing or wrong (HTTP 401/403).
    case unauthorized(Details)
    /// The session (or route) does not exist (HTTP 404).
    case notFound(Details)
    /// The session has ended or was abandoned (HTTP 409); `status` is `ended` or `abandoned` when the server said.
    case sessionNotActive(Details, status: String?)
    /// The payload or request is over the server's limit (checked before sending).
    case payloadTooLarge(Details)
    /// The server rejected fields of the request (HTTP 400).
    case validation(Details, fields: [FieldError])
    /// Too many requests (HTTP 429); `retryAfter` in seconds.
    case rateLimited(Details, retryAfter: TimeInterval?)
    /// The server failed (HTTP 5xx, a redirect, or an unexpected status).
    case server(Details, status: UInt16, retryAfter: TimeInterval?)
    /// The server could not be reached, or the connection broke.
    case network(Details)
    /// The server did not answer in time.
    case timeout(Details)
    /// The client knows the server is unreachable and did not try.
    case offline(Details)
    /// The server's answer could not be read.
    case decode(Details, status: UInt16)
    /// The caller's input is invalid (`field` names it); nothing was sent or queued.
    case invalidInput(Details, field: String)
    /// The session already ended with a different handoff, or has a different end queued.
    case handoffConflict(Details, sessionId: String, localHash: String, serverHash: String?)
    /// The local store (queue and cache file) failed.
    case store(Details)
    /// The local queue is full; the work was not queued.
    case queueFull(Details)
    /// The binding layer itself failed; worth a bug report.
    case `internal`(Details)

    /// The message and correlation id of any case.
    public var details: Details {
        switch self {
        case .unauthorized(let d), .notFound(let d), .payloadTooLarge(let d), .network(let d),
             .timeout(let d), .offline(let d), .store(let d), .queueFull(let d), .internal(let d):
            return d
        case .sessionNotActive(let d, _), .validation(let d, _), .rateLimited(let d, _),
             .server(let d, _, _), .decode(let d, _), .invalidInput(let d, _),
             .handoffConflict(let d, _, _, _):
            return d
        }
    }

    /// What went wrong, in full.
    public var message: String { details.message }

    /// The server's correlation id, when the server answered.
    public var correlationId: String? { details.correlationId }

    /// Whether the server could not be reached (`network`, `timeout` or `offline`):
    /// work that was queued is delivered later by itself.
    public var isConnectivity: Bool {
        switch self {
        case .network, .timeout, .offline: return true
        default: return false
        }
    }

    /// The full message (``message``), for `print` and string interpolation.
    public var description: String { message }

    /// The full message (``message``), for `localizedDescription`.
    public var errorDescription: String? { message }

    init(_ e: CraneContextBindings.CraneError) {
        func d(_ message: String, _ correlationId: String?) -> Details {
            Details(message: message, correlationId: correlationId)
        }
        switch e {
        case let .Unauthorized(m, c): self = .unauthorized(d(m, c))
        case let .NotFound(m, c): self = .notFound(d(m, c))
        case let .SessionNotActive(m, c, status): self = .sessionNotActive(d(m, c), status: status)
        case let .PayloadTooLarge(m, c): self = .payloadTooLarge(d(m, c))
        case let .Validation(m, c, fields):
            self = .validation(d(m, c), fields: fields.map { FieldError(field: $0.field, message: $0.message) })
        case let .RateLimited(m, c, after): self = .rateLimited(d(m, c), retryAfter: after)
        case let .Server(m, c, status, after): self = .server(d(m, c), status: status, retryAfter: after)
        case let .Network(m, c): self = .network(d(m, c))
        case let .Timeout(m, c): self = .timeout(d(m, c))
        case let .Decode(m, c, status): self = .decode(d(m, c), status: status)
        case let .InvalidInput(m, c, field): self = .invalidInput(d(m, c), field: field)
        case let .HandoffConflict(m, c, sid, local, server):
            self = .handoffConflict(d(m, c), sessionId: sid, localHash: local, serverHash: server)
        case let .Offline(m, c): self = .offline(d(m, c))
        case let .Store(m, c): self = .store(d(m, c))
        case let .QueueFull(m, c): self = .queueFull(d(m, c))
        case let .Internal(m, c): self = .internal(d(m, c))
        }
    }
}
