import CraneContextBindings
import Foundation

/// A crash-safe, offline-safe Crane Context client.
///
/// Sessions heartbeat by themselves; updates and handoffs are written to a
/// local SQLite queue before they are sent, and delivered exactly once when
/// the server is reachable again; reads answer from a local cache when it is
/// not. Every call runs on the SDK's own threads, so awaiting never blocks
/// the caller's executor. Open one client per process and share it.
///
/// ```swift
/// let client = try CraneClient(url: url, key: key)
/// let session = try await client.startSession(agent: "my-agent", venture: "vc", repo: "owner/repo")
/// try await session.update(branch: "main")
/// try await session.checkpoint(summary: "parser done", nextActions: ["tests"])   // v2, queued offline
/// try await client.notes.create("the parser needs UTF-8 input", venture: "vc")   // v2, queued offline
/// let result = try await session.end(summary: "done", payload: ["next": "tests"])
/// try await client.close()
/// ```
///
/// On a v1 server the v2 calls throw ``CraneError/notFound(_:)``.
public final class CraneClient: Sendable {
    /// How a client is set up; every field has a default.
    public struct Options: Sendable, Equatable {
        /// The queue/cache file; default `$CRANE_HOME/crane.db` or the platform data directory.
        public var storePath: String?
        /// Allow plain `http://` to a non-loopback host (the key then travels unencrypted).
        public var allowInsecureHTTP: Bool
        /// TCP/TLS connect timeout (default 5 s).
        public var connectTimeout: TimeInterval?
        /// Per-attempt request timeout (default 30 s).
        public var requestTimeout: TimeInterval?
        /// Largest random amount a heartbeat is sent early (default 15 s).
        public var heartbeatJitter: TimeInterval?
        /// Most items the offline queue holds (default: the SDK's limit).
        public var maxQueueItems: UInt64?
        /// `User-Agent` header (default `crane-context/<version>`).
        public var userAgent: String?
        /// Re-home a queued handoff whose session ended or was abandoned
        /// without it (deliver it in a new session of the same tuple);
        /// `false`: such an item is dead, with the reason. Default: on (with
        /// ``CraneClient/fromEnvironment(profile:options:)``: `CRANE_REHOME`,
        /// else the config file's `rehome_abandoned`).
        public var rehomeAbandoned: Bool?

        /// Options with the given values; the rest keep their defaults.
        public init(
            storePath: String? = nil, allowInsecureHTTP: Bool = false, connectTimeout: TimeInterval? = nil,
            requestTimeout: TimeInterval? = nil, heartbeatJitter: TimeInterval? = nil,
            maxQueueItems: UInt64? = nil, userAgent: String? = nil, rehomeAbandoned: Bool? = nil
        ) {
            self.storePath = storePath
            self.allowInsecureHTTP = allowInsecureHTTP
            self.connectTimeout = connectTimeout
            self.requestTimeout = requestTimeout
            self.heartbeatJitter = heartbeatJitter
            self.maxQueueItems = maxQueueItems
            self.userAgent = userAgent
            self.rehomeAbandoned = rehomeAbandoned
        }

        func native(profile: String?) -> ClientOptions {
            func ms(_ t: TimeInterval?) -> UInt64? { t.map { UInt64(max(0, ($0 * 1000).rounded())) } }
            return ClientOptions(
                storePath: storePath, allowInsecureHttp: allowInsecureHTTP,
                connectTimeoutMs: ms(connectTimeout), requestTimeoutMs: ms(requestTimeout),
                heartbeatJitterMs: ms(heartbeatJitter), maxQueueItems: maxQueueItems,
                userAgent: userAgent, rehomeAbandoned: rehomeAbandoned, profile: profile)
        }
    }

    let native: CraneContextBindings.CraneClient
    private let dispatcher: Dispatcher

    /// The local offline queue.
    public let queue: Queue

    /// Notes (v2): create (through the offline queue), list, get, update, archive.
    public let notes: Notes

    private init(native: CraneContextBindings.CraneClient, dispatcher: Dispatcher) {
        self.native = native
        self.dispatcher = dispatcher
        self.queue = Queue(native: native)
        self.notes = Notes(native: native)
    }

    /// Opens a client for a server (`https://…`, or `http://` on loopback) and
    /// relay key, opens the local queue/cache file and starts delivering
    /// anything left in it. No network I/O happens here.
    public convenience init(url: String, key: String, options: Options = Options()) throws {
        let dispatcher = Dispatcher()
        let native = try bridgedSync {
            try CraneContextBindings.CraneClient(
                url: url, relayKey: key, options: options.native(profile: nil), listener: dispatcher)
        }
        self.init(native: native, dispatcher: dispatcher)
    }

    /// Opens a client configured the way the `crane` CLI is:
    /// `CRANE_CONTEXT_URL` and `CRANE_CONTEXT_KEY`, else a profile of the
    /// config file (`profile`, else `CRANE_ENV`, else its default profile).
    public static func fromEnvironment(profile: String? = nil, options: Options = Options()) throws -> CraneClient {
        let dispatcher = Dispatcher()
        let native = try bridgedSync {
            try CraneContextBindings.CraneClient.fromEnv(options: options.native(profile: profile), listener: dispatcher)
        }
        return CraneClient(native: native, dispatcher: dispatcher)
    }

    /// The server's base URL.
    public var url: String { native.url() }

    /// The local queue/cache file.
    public var storePath: String { native.storePath() }

    // MARK: Sessions

    /// Starts or resumes the session of (agent, venture, repo, track), first
    /// delivering queued work of it. The session heartbeats by itself until it
    /// is ended or stopped (`autoHeartbeat: false` leaves that to the caller);
    /// `includeDocs` asks for the documentation bundle (``StartInfo/docs``).
    /// `metaJSON` is caller metadata (JSON text of an object); v2 servers
    /// also store `clientSessionId` (the agent's own id for the session) and
    /// `sessionGroupId` (the group ``siblings(group:excluding:)`` lists).
    public func startSession(
        agent: String, venture: String, repo: String, track: Int64? = nil, issueNumber: Int64? = nil,
        branch: String? = nil, commitSha: String? = nil, host: String? = nil, clientName: String? = nil,
        clientVersion: String? = nil, metaJSON: String? = nil, clientSessionId: String? = nil,
        sessionGroupId: String? = nil, includeDocs: Bool = false, autoHeartbeat: Bool = true
    ) async throws -> Session {
        let request = StartRequest(
            agent: agent, venture: venture, repo: repo, track: track, issueNumber: issueNumber,
            branch: branch, commitSha: commitSha, host: host, client: clientName, clientVersion: clientVersion,
            metaJson: metaJSON, includeDocs: includeDocs, autoHeartbeat: autoHeartbeat,
            clientSessionId: clientSessionId, sessionGroupId: sessionGroupId)
        return try await bridged { Session(try await native.startSession(request: request), client: native) }
    }

    /// Re-attaches (heartbeating) to the session of a tuple started earlier on
    /// this machine, e.g. by another process; `nil` if none is cached.
    public func attach(agent: String, venture: String, repo: String, track: Int64? = nil) async throws -> Session? {
        try await bridged {
            try await native.attach(agent: agent, venture: venture, repo: repo, track: track)
                .map { Session($0, client: native) }
        }
    }

    /// Re-attaches to a cached session by id; `nil` if it is not cached.
    public func attach(sessionId: String, autoHeartbeat: Bool = true) async throws -> Session? {
        try await bridged {
            try await native.attachById(sessionId: sessionId, autoHeartbeat: autoHeartbeat)
                .map { Session($0, client: native) }
        }
    }

    /// Ends any session by id with a handoff (no ``Session`` needed); see
    /// ``Session/end(summary:payload:statusLabel:toAgent:keepOpen:lastActivityAt:)``.
    @discardableResult
    public func endSession<Payload: Encodable>(
        id: String, summary: String, payload: Payload, statusLabel: String? = nil, toAgent: String? = nil,
        keepOpen: Bool = false, lastActivityAt: Date? = nil
    ) async throws -> EndResult {
        let request = EndRequest(
            summary: summary, payloadJson: try JSON.text(payload, field: "payload"),
            statusLabel: statusLabel, toAgent: toAgent, keepSessionOpen: keepOpen,
            lastActivityAt: lastActivityAt.map(Timestamp.format))
        return try await bridged { EndResult(try await native.endSession(sessionId: id, request: request)) }
    }

    /// Records progress on any session by id: applied, or queued.
    @discardableResult
    public func updateSession(id: String, branch: String? = nil, commitSha: String? = nil) async throws -> UpdateResult {
        let request = UpdateRequest(branch: branch, commitSha: commitSha)
        return try await bridged { UpdateResult(try await native.updateSession(sessionId: id, request: request)) }
    }

    // MARK: Reads

    /// `GET /health`. An unhealthy server is a report, not an error.
    public func health() async throws -> HealthReport {
        try await bridged { HealthReport(try await native.health()) }
    }

    /// Active sessions of an agent on a repo (a stale one is listed too: see ``SessionInfo/lastHeartbeatAt``).
    public func activeSessions(agent: String, venture: String, repo: String, track: Int64? = nil) async throws -> [SessionInfo] {
        try await bridged {
            try await native.activeSessions(agent: agent, venture: venture, repo: repo, track: track)
                .sessions.map(SessionInfo.init)
        }
    }

    /// The handoff that ended a session, or the newest of a repo's track or issue; `nil` if there is none.
    public func latestHandoff(_ query: LatestHandoffQuery) async throws -> Handoff? {
        try await bridged { try await native.latestHandoff(query: query).map(Handoff.init) }
    }

    /// Every matching handoff, newest first, fetching pages (of `pageSize`,
    /// 1–100) as iteration needs them:
    ///
    /// ```swift
    /// for try await handoff in client.handoffs(.repo(venture: "vc", repo: "owner/repo")) { … }
    /// ```
    public func handoffs(_ filter: HandoffFilter, pageSize: UInt32? = nil) -> AsyncThrowingStream<Handoff, Error> {
        let walk = HandoffWalk(native.handoffPager(filter: filter, limit: pageSize))
        return AsyncThrowingStream(unfolding: walk.next)
    }

    /// The newest handoff of a venture/repo (track): from the server, or from
    /// the local cache (``CachedHandoff/isStale``) when it cannot be reached.
    public func lastHandoff(venture: String, repo: String, track: Int64? = nil) async throws -> CachedHandoff {
        try await bridged { CachedHandoff(try await native.lastHandoff(venture: venture, repo: repo, track: track)) }
    }

    /// The docs delivered by the last session start, from the local cache; `nil` if none.
    public func cachedDocs() async throws -> [DocItem]? {
        try await bridged { try await native.cachedDocs()?.docs.map(DocItem.init) }
    }

    // MARK: Queue and lifecycle

    /// Delivers every queued item now (one real attempt even when the client
    /// believes it is offline) and reports what happened.
    @discardableResult
    public func sync() async throws -> SyncReport {
        try await bridged { try await native.sync() }
    }

    /// The background events from now on (heartbeats, queueing, deliveries),
    /// in order; the stream finishes when the client closes.
    ///
    /// ```swift
    /// for await event in client.events() {
    ///     if case let .handoffDelivered(_, _, handoffId, _) = event { print(handoffId) }
    /// }
    /// ```
    public func events() -> AsyncStream<CraneEvent> {
        dispatcher.stream()
    }

    /// Wakes the queue delivery (e.g. when the host knows the network is back).
    public func wake() {
        native.wake()
    }

    /// Closes gracefully before the process exits: starts no new delivery,
    /// lets deliveries in flight finish briefly, releases what this process
    /// holds and finishes every event stream. Queued items stay on disk and
    /// are delivered by the next client on this machine.
    public func close() async throws {
        defer { dispatcher.finish() }
        try await bridged { try await native.close() }
    }

    /// The local offline queue: ``CraneClient/queue``.
    public struct Queue: Sendable {
        let native: CraneContextBindings.CraneClient

        /// How many items are pending and dead, and their bytes.
        public func counts() async throws -> QueueCounts {
            try await bridged { try await native.queueCounts() }
        }

        /// Items waiting to be delivered, oldest first.
        public func pending() async throws -> [QueueItem] {
            try await bridged { try await native.pendingItems().map(QueueItem.init) }
        }

        /// Items that failed permanently (the dead-letter list), oldest first.
        public func dead() async throws -> [QueueItem] {
            try await bridged { try await native.deadItems().map(QueueItem.init) }
        }

        /// Moves a dead item back to pending and wakes the delivery.
        public func retry(_ localId: String) async throws {
            try await bridged { try await native.retryDead(localId: localId) }
        }

        /// Deletes a queued item for good.
        public func drop(_ localId: String) async throws {
            try await bridged { try await native.dropItem(localId: localId) }
        }
    }
}

/// The state of one ``CraneClient/handoffs(_:pageSize:)`` iteration: the
/// pager (which holds the next page's cursor) and the rest of the current page.
/// `AsyncThrowingStream(unfolding:)` calls `next` once at a time, never
/// concurrently, which is what makes the unchecked `Sendable` safe.
final class HandoffWalk: @unchecked Sendable {
    private let pager: HandoffPager
    private var buffered: [Handoff] = []
    private var done = false

    init(_ pager: HandoffPager) {
        self.pager = pager
    }

    func next() async throws -> Handoff? {
        while buffered.isEmpty && !done {
            if let page = try await bridged({ try await pager.nextPage() }) {
                buffered = page.handoffs.map(Handoff.init)
            } else {
                done = true
            }
        }
        return buffered.isEmpty ? nil : buffered.removeFirst()
    }
}
