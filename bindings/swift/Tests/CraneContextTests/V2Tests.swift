// Today's service (v2) from Swift, through the hand-written `CraneContext`
// API only (no `@testable`, no generated module): checkpoints, notes,
// keep-open ends, handoff status, prior session, siblings, activity,
// history, documents, ventures, `verify` and `doctor`, each read back from
// the emulator speaking v2; and a checkpoint and a note written offline,
// queued, and delivered once when the server is back.
import CraneContext
import Foundation
import XCTest

final class V2Tests: XCTestCase {
    var dir: URL!
    var emulator: Emulator!
    var client: CraneClient!
    var recorder: Recorder!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("crane-swift-v2-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        emulator = try Emulator(directory: dir, protocolName: "v2").start()
        client = try makeClient(emulator, store: dir.appendingPathComponent("crane.db"))
        recorder = Recorder(client.events())
    }

    override func tearDown() async throws {
        try? await client?.close()
        emulator?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    // MARK: one session, every write read back

    func testV2SessionWithCheckpointNoteKeepOpenEndAndHandoff() async throws {
        let session = try await client.startSession(
            agent: "swift-v2", venture: venture, repo: repo, branch: "main",
            clientSessionId: "swift-local-1", sessionGroupId: "grp-swift", autoHeartbeat: false)
        XCTAssertEqual(session.info.clientSessionId, "swift-local-1")
        XCTAssertEqual(session.info.sessionGroupId, "grp-swift")

        let result = try await session.checkpoint(
            summary: "parsed the contract", workCompleted: ["types"], blockers: ["ci"], nextActions: ["tests"],
            notes: "from XCTest")
        guard case let .stored(stored) = result else { return XCTFail("not stored: \(result)") }
        XCTAssertEqual(stored.number, 1)
        XCTAssertEqual(stored.sessionId, session.id)
        XCTAssertTrue(stored.id.hasPrefix("cp_"))
        XCTAssertLessThan(abs(stored.createdAt.timeIntervalSinceNow), 300)
        let second = try await session.checkpoint(summary: "second")
        XCTAssertEqual(second.checkpoint?.number, 2)
        let checkpoints = try await session.checkpoints()
        XCTAssertEqual(checkpoints.map(\.summary), ["second", "parsed the contract"])
        let first = try XCTUnwrap(checkpoints.last)
        XCTAssertEqual(first.id, stored.id)
        XCTAssertEqual(first.workCompleted, ["types"])
        XCTAssertEqual(first.blockers, ["ci"])
        XCTAssertEqual(first.nextActions, ["tests"])
        XCTAssertEqual(first.notes, "from XCTest")
        XCTAssertEqual(first.branch, "main")
        let limited = try await session.checkpoints(limit: 1)
        XCTAssertEqual(limited.map(\.summary), ["second"])
        let third = try await client.checkpoint(sessionId: session.id, summary: "by id", blockers: ["none"])
        XCTAssertEqual(third.checkpoint?.number, 3)
        let byId = try await client.checkpoints(sessionId: session.id, limit: 2)
        XCTAssertEqual(byId.map(\.summary), ["by id", "second"])
        XCTAssertEqual(byId.first?.blockers, ["none"])

        let noteResult = try await client.notes.create(
            "written from Swift", title: "swift v2", tags: ["sdk"], venture: venture, sessionId: session.id)
        let note = try XCTUnwrap(noteResult.note, "not stored: \(noteResult)")
        XCTAssertNil(noteResult.localId)
        XCTAssertEqual(note.authoredBySessionId, session.id)
        let read = try await client.notes.get(note.id)
        XCTAssertEqual(read, note)
        XCTAssertEqual(read.content, "written from Swift")
        XCTAssertEqual(read.tags, ["sdk"])

        // Keep-open: a handoff is stored and the session stays active.
        let kept = try await session.end(summary: "half way", payload: ["step": 1], keepOpen: true)
        guard case let .delivered(keptHandoff, keptEnd) = kept else { return XCTFail("not delivered: \(kept)") }
        XCTAssertNil(keptEnd, "a keep-open end does not end the session")
        let stillActive = try await client.active(agent: "swift-v2", venture: venture, repo: repo)
        XCTAssertEqual(stillActive.map(\.id), [session.id])

        let plan = Plan(next: "ship", files: ["V2Tests.swift"], n: 1)
        let workedUntil = Date(timeIntervalSince1970: 1_795_000_000.5)
        let final = try await session.end(
            summary: "v2 from Swift", payload: plan, statusLabel: "in-progress", lastActivityAt: workedUntil)
        guard case let .delivered(handoff, endedAt) = final else { return XCTFail("not delivered: \(final)") }
        XCTAssertNotNil(endedAt, "a final end ends the session")
        XCTAssertNotEqual(handoff.id, keptHandoff.id)
        let nowActive = try await client.active(agent: "swift-v2", venture: venture, repo: repo)
        XCTAssertEqual(nowActive, [])
        let latest = try await client.latestHandoff(.session(sessionId: session.id))
        XCTAssertEqual(latest?.id, handoff.id)
        XCTAssertEqual(try latest?.payload(as: Plan.self), plan)
        XCTAssertEqual(try emulator.handoffs(of: session.id).count, 2)

        let labelled = try await client.setHandoffStatus(handoff.id, to: .done)
        XCTAssertEqual(labelled.id, handoff.id)
        XCTAssertEqual(labelled.statusLabel, "done")
        let relabelled = try await client.latestHandoff(.session(sessionId: session.id))
        XCTAssertEqual(relabelled?.statusLabel, "done")

        let prior = try await client.prior(agent: "swift-v2", venture: venture, repo: repo)
        XCTAssertEqual(prior?.id, session.id)
        XCTAssertEqual(prior?.status, "ended")
        XCTAssertEqual(prior?.lastActivityAt, workedUntil)
        XCTAssertEqual(prior?.sessionGroupId, "grp-swift")
        let noPrior = try await client.prior(agent: "swift-nobody", venture: venture, repo: repo)
        XCTAssertNil(noPrior)
    }

    // MARK: notes

    func testNotesCreateListPageUpdateArchive() async throws {
        var ids: [String] = []
        for i in 0..<3 {
            let result = try await client.notes.create("note \(i)", title: "t\(i)", tags: ["paged"], venture: venture)
            ids.append(try XCTUnwrap(result.note?.id))
        }
        var listed: [String] = []
        for try await note in client.notes.list(venture: venture, tags: ["paged"], pageSize: 1) {
            listed.append(note.id)
        }
        XCTAssertEqual(listed.sorted(), ids.sorted())
        XCTAssertEqual(listed.count, 3)
        let page = try await client.notes.page(venture: venture, tags: ["paged"], pageSize: 2)
        XCTAssertEqual(page.notes.count, 2)
        XCTAssertEqual(page.totalMatching, 3)
        let cursor = try XCTUnwrap(page.nextCursor)
        let rest = try await client.notes.page(venture: venture, tags: ["paged"], pageSize: 2, cursor: cursor)
        XCTAssertEqual(Set(page.notes.map(\.id) + rest.notes.map(\.id)), Set(ids))
        XCTAssertNil(rest.nextCursor)

        let updated = try await client.notes.update(ids[0], title: "renamed", tags: ["paged", "kept"])
        XCTAssertEqual(updated.title, "renamed")
        XCTAssertEqual(updated.tags, ["paged", "kept"])
        XCTAssertEqual(updated.content, "note 0")
        XCTAssertEqual(updated.venture, venture)
        let global = try await client.notes.update(ids[0], scope: .global)
        XCTAssertNil(global.venture)
        XCTAssertEqual(global.title, "renamed")
        let back = try await client.notes.update(ids[0], scope: .venture(venture))
        XCTAssertEqual(back.venture, venture)

        let archived = try await client.notes.archive(ids[1])
        XCTAssertTrue(archived.isArchived)
        var visible: [String] = []
        for try await note in client.notes.list(venture: venture, tags: ["paged"]) { visible.append(note.id) }
        XCTAssertFalse(visible.contains(ids[1]))
        XCTAssertEqual(visible.count, 2)
        var everything: [String] = []
        for try await note in client.notes.list(venture: venture, tags: ["paged"], includeArchived: true) {
            everything.append(note.id)
        }
        XCTAssertTrue(everything.contains(ids[1]))

        do {
            _ = try await client.notes.get("note_01HZZZZZZZZZZZZZZZZZZZZZZZ")
            XCTFail("an unknown note must throw")
        } catch let error as CraneError {
            guard case .notFound = error else { return XCTFail("expected notFound, got \(error)") }
        }
    }

    // MARK: groups, activity, history, windows, docs

    func testSiblingsActivityHistoryWindowsDocsAndGate() async throws {
        let a = try await client.startSession(
            agent: "swift-a", venture: venture, repo: repo, sessionGroupId: "grp-s", autoHeartbeat: false)
        let b = try await client.startSession(
            agent: "swift-b", venture: venture, repo: repo, sessionGroupId: "grp-s", autoHeartbeat: false)
        let siblings = try await client.siblings(group: "grp-s", excluding: a.id)
        XCTAssertEqual(siblings.map(\.id), [b.id])
        XCTAssertEqual(siblings.first?.agent, "swift-b")
        let everyone = try await client.siblings(group: "grp-s")
        XCTAssertEqual(Set(everyone.map(\.id)), [a.id, b.id])
        let onRepo = try await client.active(venture: venture, repo: repo)
        XCTAssertEqual(Set(onRepo.map(\.id)), [a.id, b.id])
        let onlyA = try await client.active(agent: "swift-a")
        XCTAssertEqual(onlyA.map(\.id), [a.id])

        let now = Date().addingTimeInterval(1)
        let recorded = try await client.recordActivity(
            sessionId: a.id, at: [now, Date(timeIntervalSince1970: 1_000_000_000)], source: "xctest")
        XCTAssertEqual(recorded.recorded, 1)
        XCTAssertEqual(recorded.skippedOutOfWindow, 1)
        let again = try await client.recordActivity(sessionId: a.id, at: [now])
        XCTAssertEqual(again.recorded, 0)
        XCTAssertEqual(again.skipped, 1)

        let start = Date().addingTimeInterval(-3600)
        let ended = try await a.end(summary: "windowed")
        let handoff = try XCTUnwrap(ended.handoff)
        var inWindow: [String] = []
        for try await h in client.handoffsInWindow(createdAfter: start, pageSize: 1) { inWindow.append(h.id) }
        XCTAssertEqual(inWindow, [handoff.id])
        var filtered: [String] = []
        for try await h in client.handoffsInWindow(.fromAgent(agent: "swift-a"), createdAfter: start) {
            filtered.append(h.id)
        }
        XCTAssertEqual(filtered, [handoff.id])
        var before: [String] = []
        for try await h in client.handoffsInWindow(.repo(venture: venture, repo: repo), createdBefore: start) {
            before.append(h.id)
        }
        XCTAssertEqual(before, [])
        do {
            for try await _ in client.handoffsInWindow() {}
            XCTFail("a window with neither a filter nor createdAfter must throw")
        } catch let error as CraneError {
            guard case .invalidInput = error else { return XCTFail("expected invalidInput, got \(error)") }
        }

        let history = try await client.history(days: 2)
        let ours = try XCTUnwrap(history.first { $0.venture == venture }, "history: \(history)")
        XCTAssertGreaterThanOrEqual(ours.totalSessions, 1)
        XCTAssertFalse(ours.blocks.isEmpty)
        XCTAssertTrue(ours.blocks.contains { $0.repos.contains(repo) })

        try emulator.control("POST", "docs", [
            "scope": venture, "doc_name": "swift-guide.md", "content": "# Swift\nuse the async API",
            "title": "Swift guide",
        ])
        let docs = try await client.docs(venture: venture)
        let listedDoc = try XCTUnwrap(docs.first { $0.name == "swift-guide.md" }, "docs: \(docs)")
        XCTAssertEqual(listedDoc.scope, venture)
        XCTAssertEqual(listedDoc.content, "", "a listing carries no content")
        let doc = try await client.doc(scope: venture, name: "swift-guide.md")
        XCTAssertEqual(doc.content, "# Swift\nuse the async API")
        XCTAssertEqual(doc.title, "Swift guide")
        XCTAssertEqual(doc.version, 1)
        let audits = try await client.docAudits(venture: venture)
        XCTAssertEqual(audits.map(\.venture), [venture])
        XCTAssertNotEqual(audits.first?.status, .unknown)
        let allAudits = try await client.docAudits()
        XCTAssertGreaterThan(allAudits.count, 1)

        let gate = try await client.memoryGate()
        XCTAssertEqual(gate, .either)
    }

    // MARK: ventures and diagnostics

    func testVenturesVerifyAndDoctor() async throws {
        let list = try await client.ventures()
        XCTAssertFalse(list.isStale)
        XCTAssertNil(list.age)
        let vc = try XCTUnwrap(list.ventures.first { $0.code == venture }, "ventures: \(list)")
        XCTAssertEqual(vc.id, venture)
        XCTAssertEqual(vc.name, "Venture Crane")
        XCTAssertEqual(vc.org, "venturecrane")
        XCTAssertTrue(vc.repos.contains("crane-console"))
        struct Portfolio: Decodable { var status: String; var tagline: String? }
        XCTAssertEqual(try vc.portfolio(as: Portfolio.self)?.status, "internal")

        let report = try await client.verify()
        XCTAssertTrue(report.passed, "\(report)")
        XCTAssertEqual(report.generation, .v2)
        XCTAssertTrue(report.url.hasPrefix(emulator.url), "\(report.url) is not \(emulator.url)")
        XCTAssertFalse(report.steps.isEmpty)
        XCTAssertTrue(report.steps.allSatisfy { $0.result == .pass }, "\(report.steps)")
        XCTAssertTrue(report.steps.allSatisfy { $0.latency != nil })

        let doctor = try await client.doctor(repo: "venturecrane/crane-context", venture: venture)
        XCTAssertEqual(doctor.generation, .v2)
        XCTAssertTrue(doctor.isOK, "\(doctor.checks)")
        XCTAssertTrue(doctor.checks.contains { $0.name == "generation" }, "\(doctor.checks)")
        XCTAssertFalse(doctor.checks.contains { $0.level == .fail })
        XCTAssertNotNil(doctor.schemaVersion)
        XCTAssertEqual(doctor.serverCommit, "emulator")
        XCTAssertEqual(doctor.venture, venture)
        XCTAssertNotNil(doctor.ventureReason)

        // Offline, the list stored a moment ago still answers (younger than a day: not stale).
        emulator.stop()
        let stored = try await client.ventures()
        XCTAssertEqual(stored.ventures, list.ventures)
        XCTAssertFalse(stored.isStale)
        XCTAssertNotNil(stored.age, "read from the store, with its age")
    }

    // MARK: offline

    func testOfflineCheckpointAndNoteQueuedThenDeliveredOnceBySync() async throws {
        let session = try await client.startSession(
            agent: "swift-offline-v2", venture: venture, repo: repo, autoHeartbeat: false)
        emulator.stop()

        let checkpoint = try await session.checkpoint(summary: "written offline", nextActions: ["deliver"])
        let checkpointId = try XCTUnwrap(checkpoint.localId, "not queued: \(checkpoint)")
        XCTAssertNil(checkpoint.checkpoint)
        let note = try await client.notes.create("noted offline", title: "offline", venture: venture)
        let noteId = try XCTUnwrap(note.localId, "not queued: \(note)")
        XCTAssertNil(note.note)
        let pending = try await client.queue.pending()
        XCTAssertEqual(Set(pending.map(\.localId)), [checkpointId, noteId])
        XCTAssertEqual(Set(pending.map(\.kind)), ["checkpoint", "note"])

        try await emulator.restartOnMain()
        try await client.sync()
        let left = try await client.queue.pending()
        XCTAssertEqual(left, [], "sync delivers every queued item")
        let events = try await recorder.wait(timeout: 60) { events in
            events.contains { if case .noteDelivered(noteId, _) = $0 { return true } else { return false } }
                && events.contains {
                    if case .checkpointDelivered(_, checkpointId, _, _) = $0 { return true } else { return false }
                }
        }
        let checkpointEvents = events.compactMap { e -> (String, UInt32)? in
            if case let .checkpointDelivered(sid, id, _, number) = e, id == checkpointId { return (sid, number) }
            return nil
        }
        XCTAssertEqual(checkpointEvents.count, 1)
        XCTAssertEqual(checkpointEvents.first?.0, session.id)
        XCTAssertEqual(checkpointEvents.first?.1, 1)
        let noteEvents = events.compactMap { e -> String? in
            if case let .noteDelivered(id, stored) = e, id == noteId { return stored }
            return nil
        }
        XCTAssertEqual(noteEvents.count, 1)

        let stored = try await session.checkpoints()
        XCTAssertEqual(stored.map(\.summary), ["written offline"])
        XCTAssertEqual(stored.first?.nextActions, ["deliver"])
        var notes: [Note] = []
        for try await n in client.notes.list(venture: venture) { notes.append(n) }
        XCTAssertEqual(notes.map(\.content), ["noted offline"])
        XCTAssertEqual(notes.first?.id, noteEvents.first)

        let again = try await client.sync()
        XCTAssertEqual(again.delivered, 0)
        let storedAgain = try await session.checkpoints()
        XCTAssertEqual(storedAgain.count, 1)
    }

    // MARK: a v1 server

    func testV1ServerRefusesKeepOpenAndHasNoVentures() async throws {
        let v1Dir = dir.appendingPathComponent("v1", isDirectory: true)
        try FileManager.default.createDirectory(at: v1Dir, withIntermediateDirectories: true)
        let old = Emulator(directory: v1Dir, protocolName: "v1")
        // Launched on the main thread, like `restartOnMain`, so `stop()` can reap it.
        try await MainActor.run { _ = try old.start() }
        defer { old.stop() }
        let v1 = try makeClient(old, store: dir.appendingPathComponent("v1.db"))
        let session = try await v1.startSession(agent: "swift-v1", venture: venture, repo: repo, autoHeartbeat: false)
        do {
            try await session.end(summary: "keep", keepOpen: true)
            XCTFail("keep-open must be refused by a v1 server")
        } catch let CraneError.invalidInput(_, field) {
            XCTAssertEqual(field, "keep_session_open")
        }
        XCTAssertEqual(try old.requests("/eod"), 0)
        do {
            _ = try await v1.ventures()
            XCTFail("a v1 server has no venture list")
        } catch let error as CraneError {
            guard case .notFound = error else { return XCTFail("expected notFound, got \(error)") }
        }
        let doctor = try await v1.doctor()
        XCTAssertEqual(doctor.generation, .v1)
        let ended = try await session.end(summary: "really end")
        XCTAssertNotNil(ended.handoff)
        try await v1.close()
    }
}
