// The Swift API against the real emulator: mirrors the pytest suite in
// bindings/python/tests (lifecycle, queries, errors, heartbeats and offline
// delivery seen as an event stream, concurrent calls, the dead-letter path).
@testable import CraneContext
import Foundation
import XCTest

final class CraneContextTests: XCTestCase {
    var dir: URL!
    var emulator: Emulator!
    var client: CraneClient!
    var recorder: Recorder!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("crane-swift-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        emulator = try Emulator(directory: dir, heartbeatInterval: heartbeatInterval).start()
        client = try makeClient(emulator, store: dir.appendingPathComponent("crane.db"))
        recorder = Recorder(client.events())
    }

    override func tearDown() async throws {
        try? await client?.close()
        emulator?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    /// Tests whose name mentions heartbeats get 1–2 s intervals.
    var heartbeatInterval: String { name.contains("Heartbeat") ? "1-2" : "480-720" }

    func start(_ agent: String = "swift-agent", track: Int64? = nil, autoHeartbeat: Bool = true) async throws -> Session {
        try await client.startSession(agent: agent, venture: venture, repo: repo, track: track, autoHeartbeat: autoHeartbeat)
    }

    // MARK: lifecycle

    func testFullLifecycle() async throws {
        let health = try await client.health()
        XCTAssertEqual(health.status, .healthy)
        XCTAssertEqual(health.httpStatus, 200)

        let session = try await client.startSession(
            agent: "swift-life", venture: venture, repo: repo, branch: "main", includeDocs: true)
        XCTAssertTrue(session.id.hasPrefix("sess_"))
        XCTAssertEqual(session.startInfo?.status, "created")
        XCTAssertFalse(session.startInfo?.docs.isEmpty ?? true)
        let info = session.info
        XCTAssertEqual(info.status, "active")
        XCTAssertEqual(info.branch, "main")
        XCTAssertLessThan(abs(info.createdAt.timeIntervalSinceNow), 300)
        XCTAssertGreaterThan(session.nextHeartbeatAt, info.createdAt)
        XCTAssertTrue(session.isBeating)

        let update = try await session.update(branch: "feature", commitSha: "abc1234", meta: ["tool": "xctest"])
        XCTAssertTrue(update.isApplied)
        let beat = try await session.heartbeat()
        XCTAssertEqual(beat.sessionId, session.id)
        XCTAssertGreaterThan(beat.nextHeartbeatAt, beat.lastHeartbeatAt)

        let plan = Plan(next: "write tests", files: ["a.swift"], n: 3)
        let result = try await session.end(summary: "done for today", payload: plan, statusLabel: "in-progress")
        guard case let .delivered(handoff, endedAt) = result else { return XCTFail("not delivered: \(result)") }
        XCTAssertEqual(handoff.sessionId, session.id)
        XCTAssertEqual(handoff.statusLabel, "in-progress")
        XCTAssertEqual(try handoff.payload(as: Plan.self), plan)
        XCTAssertEqual(handoff.payloadJSON, #"{"files":["a.swift"],"n":3,"next":"write tests"}"#)
        let ended = try XCTUnwrap(endedAt, "a final end has an end time")
        XCTAssertLessThan(abs(ended.timeIntervalSince(handoff.createdAt)), 60)
        XCTAssertFalse(session.isBeating)

        let back = try await client.latestHandoff(.session(sessionId: session.id))
        XCTAssertEqual(try back?.payload(as: Plan.self), plan)
        XCTAssertEqual(try emulator.handoffs(of: session.id).count, 1)
        let pending = try await client.queue.pending()
        XCTAssertEqual(pending, [])
    }

    func testAttachToCachedSession() async throws {
        let session = try await start("swift-attach", track: 2)
        session.stop()
        let byId = try await client.attach(sessionId: session.id, autoHeartbeat: false)
        XCTAssertEqual(byId?.id, session.id)
        XCTAssertNil(byId?.startInfo)
        let byTuple = try await client.attach(agent: "swift-attach", venture: venture, repo: repo, track: 2)
        XCTAssertEqual(byTuple?.id, session.id)
        byTuple?.stop()
        let unknown = try await client.attach(sessionId: "sess_unknown", autoHeartbeat: false)
        XCTAssertNil(unknown)
    }

    // MARK: queries

    func makeHandoffs(_ n: Int, agent: String = "swift-query", track: Int64? = nil) async throws -> [Handoff] {
        var made: [Handoff] = []
        for i in 0..<n {
            let s = try await start(agent, track: track, autoHeartbeat: false)
            guard let h = try await s.end(summary: "handoff \(i)", payload: ["i": i]).handoff else {
                throw TestError.emulator("handoff \(i) not delivered")
            }
            made.append(h)
        }
        return made
    }

    func testEveryQuery() async throws {
        let made = try await makeHandoffs(5, track: 7)
        let newestFirst = made.reversed().map(\.id)

        let latest = try await client.latestHandoff(.track(venture: venture, repo: repo, track: 7))
        XCTAssertEqual(latest?.id, newestFirst.first)
        let bySession = try await client.latestHandoff(.session(sessionId: made[0].sessionId))
        XCTAssertEqual(bySession?.id, made[0].id)

        // Every page, as one sequence: 2 + 2 + 1.
        let before = try emulator.requests("/handoffs")
        var ids: [String] = []
        for try await h in client.handoffs(.fromAgent(agent: "swift-query"), pageSize: 2) {
            ids.append(h.id)
        }
        XCTAssertEqual(ids, newestFirst)
        XCTAssertEqual(try emulator.requests("/handoffs") - before, 3)
        var first: [[String: Int]] = []
        for try await h in client.handoffs(.repo(venture: venture, repo: repo)) {
            first.append(try h.payload())
            break
        }
        XCTAssertEqual(first, [["i": 4]])

        let live = try await start("swift-active", autoHeartbeat: false)
        let active = try await client.activeSessions(agent: "swift-active", venture: venture, repo: repo)
        XCTAssertEqual(active.map(\.id), [live.id])

        let last = try await client.lastHandoff(venture: venture, repo: repo, track: 7)
        XCTAssertFalse(last.isStale)
        emulator.stop()
        let cached = try await client.lastHandoff(venture: venture, repo: repo, track: 7)
        XCTAssertTrue(cached.isStale)
        XCTAssertEqual(cached.handoff?.id, newestFirst.first)
    }

    // MARK: errors

    func testErrors() async throws {
        let wrong = try makeClient(emulator, store: dir.appendingPathComponent("wrong.db"), key: "wrong-key-0123456789")
        do {
            _ = try await wrong.startSession(agent: "a", venture: venture, repo: repo)
            XCTFail("a wrong key must throw")
        } catch CraneError.unauthorized(let details) {
            XCTAssertNotNil(details.correlationId)
        }
        try await wrong.close()

        do {
            try await client.updateSession(id: "sess_01HZZZZZZZZZZZZZZZZZZZZZZZ", branch: "x")
            XCTFail("an unknown session must throw")
        } catch let error as CraneError {
            guard case .notFound = error else { return XCTFail("expected notFound, got \(error)") }
            XCTAssertNotNil(error.correlationId)
        }

        let session = try await start(autoHeartbeat: false)
        do {
            try await session.end(summary: "big", payload: ["blob": String(repeating: "x", count: 900_000)])
            XCTFail("an oversized payload must throw")
        } catch CraneError.payloadTooLarge(let details) {
            XCTAssertTrue(details.message.contains("819200"))
        }
        do {
            try await session.end(summary: "array", payload: [1, 2])
            XCTFail("a payload that is not an object must throw")
        } catch let CraneError.invalidInput(details, field) {
            XCTAssertEqual(field, "payload")
            XCTAssertNil(details.correlationId)
        }
        XCTAssertEqual(try emulator.requests("/eod"), 0)

        XCTAssertThrowsError(try CraneClient(url: "http://crane.example", key: relayKey)) { error in
            guard case let CraneError.invalidInput(_, field) = error else { return XCTFail("got \(error)") }
            XCTAssertEqual(field, "url")
        }
    }

    // MARK: events

    func testHeartbeatsArriveOnTheEventStream() async throws {
        let session = try await start("swift-beat")
        let sid = session.id
        let events = try await recorder.wait(timeout: 15) { $0.filter(isHeartbeat).count >= 2 }
        for case let .heartbeatSent(sessionId, next, interval) in events {
            XCTAssertEqual(sessionId, sid)
            XCTAssertTrue((1...2).contains(interval))
            XCTAssertGreaterThan(next.timeIntervalSince1970, 1_700_000_000)
        }
        session.stop()
        XCTAssertFalse(session.isBeating)
    }

    func testEventStreamsFinishWhenTheClientCloses() async throws {
        let other = try makeClient(emulator, store: dir.appendingPathComponent("other.db"))
        let stream = other.events()
        let reader = Task { () -> Int in
            var n = 0
            for await _ in stream { n += 1 }
            return n
        }
        try await other.close()
        let count = await reader.value  // returns only because the stream finished
        XCTAssertEqual(count, 0)
        var afterClose = 0
        for await _ in other.events() { afterClose += 1 }
        XCTAssertEqual(afterClose, 0)
    }

    // MARK: offline

    func testOfflineEndQueuedThenDeliveredExactlyOnce() async throws {
        let session = try await start("swift-offline")
        let sid = session.id
        emulator.stop()
        let result = try await session.end(summary: "written offline", payload: ["next": "deliver me"])
        guard case let .queued(localId) = result else { return XCTFail("not queued: \(result)") }
        let pending = try await client.queue.pending()
        XCTAssertEqual(pending.map(\.localId), [localId])
        XCTAssertEqual(pending.first?.state, .pending)

        try await emulator.restartOnMain()
        let events = try await recorder.wait(timeout: 60) { deliveredIds($0).contains(localId) }
        XCTAssertEqual(deliveredIds(events), [localId])
        XCTAssertEqual(try emulator.handoffs(of: sid).count, 1)
        let report = try await client.sync()
        XCTAssertEqual(report.delivered, 0)
        XCTAssertEqual(try emulator.handoffs(of: sid).count, 1)
        XCTAssertEqual(try emulator.requests("/eod"), 1)
    }

    // MARK: concurrency

    func testConcurrentAsyncCalls() async throws {
        let client = self.client!
        let agents = (0..<8).map { "swift-conc-\($0)" }
        let sessions = try await withThrowingTaskGroup(of: Session.self) { group in
            for agent in agents {
                group.addTask {
                    try await client.startSession(agent: agent, venture: venture, repo: repo, autoHeartbeat: false)
                }
            }
            var all: [Session] = []
            for try await s in group { all.append(s) }
            return all
        }
        XCTAssertEqual(Set(sessions.map(\.id)).count, agents.count)
        let delivered = try await withThrowingTaskGroup(of: Bool.self) { group in
            for s in sessions {
                group.addTask {
                    _ = try await client.health()
                    return try await s.end(summary: "done").handoff != nil
                }
            }
            var n = 0
            for try await ok in group where ok { n += 1 }
            return n
        }
        XCTAssertEqual(delivered, agents.count)
        XCTAssertEqual(try emulator.state()["handoffs_count"] as? Int, agents.count)
    }

    // MARK: dead letters

    func testDeadLetterRetriedThenDelivered() async throws {
        let session = try await start("swift-dead", autoHeartbeat: false)
        try emulator.fault(["route": "/eod", "mode": "status", "status": 400, "count": 1])
        do {
            try await session.end(summary: "rejected once")
            XCTFail("a 400 must throw")
        } catch CraneError.validation {
        }
        let dead = try await client.queue.dead()
        XCTAssertEqual(dead.count, 1)
        XCTAssertEqual(dead.first?.state, .dead)
        let counts = try await client.queue.counts()
        XCTAssertEqual(counts.dead, 1)
        guard let localId = dead.first?.localId else { return }

        try await client.queue.retry(localId)
        try await recorder.wait(timeout: 30) { deliveredIds($0).contains(localId) }
        let deadAfter = try await client.queue.dead()
        XCTAssertEqual(deadAfter, [])
        XCTAssertEqual(try emulator.handoffs(of: session.id).count, 1)
    }

    // MARK: timestamps

    func testTimestampsParseEveryPrecisionAndOffset() throws {
        let base = try XCTUnwrap(Timestamp.parse("2026-01-31T12:00:00Z"))
        XCTAssertEqual(base.timeIntervalSince1970, 1_769_860_800)
        XCTAssertEqual(try XCTUnwrap(Timestamp.parse("2026-01-31T12:00:00.5Z")).timeIntervalSince(base), 0.5, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(Timestamp.parse("2026-01-31T12:00:00.123456789Z")).timeIntervalSince(base),
                       0.123456789, accuracy: 1e-6)
        XCTAssertEqual(try XCTUnwrap(Timestamp.parse("2026-01-31T13:30:00+01:30")), base)
        XCTAssertNil(Timestamp.parse("2026-01-31 12:00"))
        XCTAssertNil(Timestamp.parse("2026-01-31T12:00:00"))
    }

    func testTimestampsFormatAsTheLibraryReadsThem() throws {
        XCTAssertEqual(Timestamp.format(Date(timeIntervalSince1970: 1_769_860_800)), "2026-01-31T12:00:00.000Z")
        XCTAssertEqual(Timestamp.format(Date(timeIntervalSince1970: 1_769_860_800.123)), "2026-01-31T12:00:00.123Z")
        XCTAssertEqual(Timestamp.format(Date(timeIntervalSince1970: 1_769_860_859.9996)), "2026-01-31T12:01:00.000Z")
        XCTAssertEqual(Timestamp.format(Date(timeIntervalSince1970: 0)), "1970-01-01T00:00:00.000Z")
        let now = Date()
        let back = try XCTUnwrap(Timestamp.parse(Timestamp.format(now)))
        XCTAssertEqual(back.timeIntervalSince(now), 0, accuracy: 0.001)
    }
}
