// The Swift binding against the real emulator: mirrors the pytest suite in
// bindings/python/tests (lifecycle, queries, errors, heartbeats through the
// listener, offline delivery exactly once, concurrent async calls, the
// dead-letter path).
import CraneContext
import Foundation
import XCTest

final class CraneContextTests: XCTestCase {
    var dir: URL!
    var emulator: Emulator!
    var recorder: Recorder!
    var client: CraneClient!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("crane-swift-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        emulator = try Emulator(directory: dir, heartbeatInterval: heartbeatInterval).start()
        recorder = Recorder()
        client = try makeClient(emulator, store: dir.appendingPathComponent("crane.db"), listener: recorder)
    }

    override func tearDownWithError() throws {
        client?.shutdown()
        emulator?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    /// Tests whose name mentions heartbeats get 1–2 s intervals.
    var heartbeatInterval: String { name.contains("Heartbeat") ? "1-2" : "480-720" }

    // MARK: lifecycle

    func testFullLifecycleBlocking() throws {
        XCTAssertEqual(try client.healthBlocking().status, .healthy)
        let session = try client.startSessionBlocking(request: startRequest())
        let sid = session.sessionId()
        XCTAssertTrue(sid.hasPrefix("sess_"))
        XCTAssertEqual(session.startInfo()?.status, "created")
        XCTAssertEqual(session.session().status, "active")
        XCTAssertTrue(session.isBeating())

        let update = try session.updateBlocking(request: UpdateRequest(branch: "feature", commitSha: "abc1234"))
        guard case .applied = update else { return XCTFail("update not applied: \(update)") }
        XCTAssertEqual(try session.heartbeatNowBlocking().sessionId, sid)

        let outcome = try session.endBlocking(request: endRequest("done for today", payload: #"{"next":"write tests","n":3}"#))
        guard case let .delivered(handoff, _, _) = outcome else { return XCTFail("not delivered: \(outcome)") }
        XCTAssertEqual(handoff.sessionId, sid)
        XCTAssertEqual(handoff.payloadJson, #"{"n":3,"next":"write tests"}"#)
        XCTAssertFalse(session.isBeating())
        XCTAssertEqual(try emulator.handoffs(of: sid).count, 1)
        XCTAssertEqual(try client.pendingItemsBlocking(), [])
    }

    func testFullLifecycleAsync() async throws {
        let health = try await client.health()
        XCTAssertEqual(health.status, .healthy)
        let session = try await client.startSession(request: startRequest("swift-async"))
        let update = try await session.update(request: UpdateRequest(commitSha: "def5678"))
        guard case .applied = update else { return XCTFail("update not applied") }
        let outcome = try await session.end(request: endRequest())
        guard case .delivered = outcome else { return XCTFail("not delivered") }
        XCTAssertEqual(try emulator.handoffs(of: session.sessionId()).count, 1)
    }

    func testAttachToCachedSession() throws {
        let session = try client.startSessionBlocking(request: startRequest("swift-attach", track: 2))
        session.stop()
        let byId = try client.attachByIdBlocking(sessionId: session.sessionId(), autoHeartbeat: false)
        XCTAssertEqual(byId?.sessionId(), session.sessionId())
        let byTuple = try client.attachBlocking(agent: "swift-attach", venture: "vc",
                                                repo: "venturecrane/crane-context", track: 2)
        XCTAssertEqual(byTuple?.sessionId(), session.sessionId())
        byTuple?.stop()
        XCTAssertNil(try client.attachByIdBlocking(sessionId: "sess_unknown", autoHeartbeat: false))
    }

    // MARK: queries

    func makeHandoffs(_ n: Int, agent: String = "swift-query", track: Int64? = nil) throws -> [Handoff] {
        try (0..<n).map { i in
            let s = try client.startSessionBlocking(request: startRequest(agent, track: track, autoHeartbeat: false))
            guard case let .delivered(h, _, _) = try s.endBlocking(request: endRequest("handoff \(i)", payload: "{\"i\":\(i)}")) else {
                throw TestError.emulator("handoff \(i) not delivered")
            }
            return h
        }
    }

    func testEveryQuery() throws {
        let made = try makeHandoffs(5, track: 7)
        let newestFirst = made.reversed().map(\.id)

        let latest = try client.latestHandoffBlocking(query: .track(venture: "vc", repo: "venturecrane/crane-context", track: 7))
        XCTAssertEqual(latest?.id, newestFirst.first)
        XCTAssertEqual(try client.latestHandoffBlocking(query: .session(sessionId: made[0].sessionId))?.id, made[0].id)

        let filter = HandoffFilter.fromAgent(agent: "swift-query")
        let page = try client.handoffsBlocking(filter: filter, limit: 2, cursor: nil)
        XCTAssertEqual(page.handoffs.map(\.id), Array(newestFirst.prefix(2)))
        XCTAssertTrue(page.hasMore)

        let pager = client.handoffPager(filter: filter, limit: 2)
        var ids: [String] = []
        var sizes: [UInt32] = []
        while let p = try pager.nextPageBlocking() {
            ids += p.handoffs.map(\.id)
            sizes.append(p.count)
        }
        XCTAssertEqual(ids, newestFirst)
        XCTAssertEqual(sizes, [2, 2, 1])

        let live = try client.startSessionBlocking(request: startRequest("swift-active", autoHeartbeat: false))
        let active = try client.activeSessionsBlocking(agent: "swift-active", venture: "vc",
                                                       repo: "venturecrane/crane-context", track: nil)
        XCTAssertEqual(active.sessions.map(\.id), [live.sessionId()])

        let last = try client.lastHandoffBlocking(venture: "vc", repo: "venturecrane/crane-context", track: 7)
        XCTAssertFalse(last.stale)
        XCTAssertNotNil(try client.cachedDocsBlocking())
        emulator.stop()
        let cached = try client.lastHandoffBlocking(venture: "vc", repo: "venturecrane/crane-context", track: 7)
        XCTAssertTrue(cached.stale)
        XCTAssertEqual(cached.handoff?.id, newestFirst.first)
    }

    // MARK: errors

    func testErrors() throws {
        let wrong = try makeClient(emulator, store: dir.appendingPathComponent("wrong.db"), key: "wrong-key-0123456789")
        XCTAssertThrowsError(try wrong.startSessionBlocking(request: startRequest())) { error in
            guard let e = error as? CraneError, case let .Unauthorized(_, correlationId) = e else {
                return XCTFail("expected Unauthorized, got \(error)")
            }
            XCTAssertNotNil(correlationId)
        }
        wrong.shutdown()

        XCTAssertThrowsError(try client.updateSessionBlocking(
            sessionId: "sess_01HZZZZZZZZZZZZZZZZZZZZZZZ", request: UpdateRequest(branch: "x"))) { error in
            guard let e = error as? CraneError, case .NotFound = e else { return XCTFail("expected NotFound, got \(error)") }
        }

        let session = try client.startSessionBlocking(request: startRequest(autoHeartbeat: false))
        let big = "{\"blob\":\"" + String(repeating: "x", count: 900_000) + "\"}"
        XCTAssertThrowsError(try session.endBlocking(request: endRequest(payload: big))) { error in
            guard let e = error as? CraneError, case .PayloadTooLarge = e else { return XCTFail("expected PayloadTooLarge, got \(error)") }
        }
        XCTAssertThrowsError(try session.endBlocking(request: endRequest(payload: "[1,2]"))) { error in
            guard let e = error as? CraneError, case let .InvalidInput(_, _, field) = e else {
                return XCTFail("expected InvalidInput, got \(error)")
            }
            XCTAssertEqual(field, "payload")
        }
        XCTAssertEqual(try emulator.requests("/eod"), 0)
    }

    // MARK: heartbeats

    func testHeartbeatsObservedThroughListener() throws {
        let session = try client.startSessionBlocking(request: startRequest("swift-beat"))
        let events = try recorder.wait(timeout: 15) { $0.filter(isHeartbeat).count >= 2 }
        for case let .heartbeatSent(sessionId, _, interval) in events {
            XCTAssertEqual(sessionId, session.sessionId())
            XCTAssertTrue((1...2).contains(interval))
        }
        session.stop()
        Thread.sleep(forTimeInterval: 0.5)
        let count = recorder.all.filter(isHeartbeat).count
        Thread.sleep(forTimeInterval: 2.5)
        XCTAssertEqual(recorder.all.filter(isHeartbeat).count, count)
    }

    // MARK: offline

    func testOfflineEndQueuedThenDeliveredExactlyOnce() throws {
        let session = try client.startSessionBlocking(request: startRequest("swift-offline"))
        let sid = session.sessionId()
        emulator.stop()
        let outcome = try session.endBlocking(request: endRequest("written offline"))
        guard case let .queued(localId) = outcome else { return XCTFail("not queued: \(outcome)") }
        XCTAssertEqual(try client.pendingItemsBlocking().map(\.localId), [localId])

        try emulator.restart()
        let events = try recorder.wait(timeout: 60) { deliveredIds($0).contains(localId) }
        XCTAssertEqual(deliveredIds(events), [localId])
        XCTAssertEqual(try emulator.handoffs(of: sid).count, 1)
        XCTAssertEqual(try client.syncBlocking().delivered, 0)
        XCTAssertEqual(try emulator.handoffs(of: sid).count, 1)
        XCTAssertEqual(try emulator.requests("/eod"), 1)
    }

    // MARK: concurrency

    func testConcurrentAsyncCalls() async throws {
        let client = self.client!
        let agents = (0..<8).map { "swift-conc-\($0)" }
        let sessions = try await withThrowingTaskGroup(of: SessionHandle.self) { group in
            for agent in agents {
                group.addTask { try await client.startSession(request: startRequest(agent, autoHeartbeat: false)) }
            }
            var all: [SessionHandle] = []
            for try await s in group { all.append(s) }
            return all
        }
        XCTAssertEqual(Set(sessions.map { $0.sessionId() }).count, agents.count)
        let delivered = try await withThrowingTaskGroup(of: Bool.self) { group in
            for s in sessions {
                group.addTask {
                    _ = try await client.health()
                    if case .delivered = try await s.end(request: endRequest()) { return true }
                    return false
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

    func testDeadLetterRetriedThenDelivered() throws {
        let session = try client.startSessionBlocking(request: startRequest("swift-dead", autoHeartbeat: false))
        try emulator.fault(["route": "/eod", "mode": "status", "status": 400, "count": 1])
        XCTAssertThrowsError(try session.endBlocking(request: endRequest("rejected once")))
        let dead = try client.deadItemsBlocking()
        XCTAssertEqual(dead.count, 1)
        XCTAssertEqual(dead.first?.state, .dead)
        XCTAssertEqual(try client.queueCountsBlocking().dead, 1)
        guard let localId = dead.first?.localId else { return }

        try client.retryDeadBlocking(localId: localId)
        try recorder.wait(timeout: 30) { deliveredIds($0).contains(localId) }
        XCTAssertEqual(try client.deadItemsBlocking(), [])
        XCTAssertEqual(try emulator.handoffs(of: session.sessionId()).count, 1)
    }
}
