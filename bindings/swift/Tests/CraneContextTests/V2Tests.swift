// Today's service (v2) from Swift: one session with a checkpoint, a note and
// a handoff, each read back from the emulator speaking v2. The checkpoint and
// note routes are reached through the generated module (the hand-written
// layer wraps the session life cycle).
@testable import CraneContext
import CraneContextBindings
import Foundation
import XCTest

final class V2Tests: XCTestCase {
    var dir: URL!
    var emulator: Emulator!
    var client: CraneContext.CraneClient!

    override func setUpWithError() throws {
        dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("crane-swift-v2-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        emulator = try Emulator(directory: dir, protocolName: "v2").start()
        client = try makeClient(emulator, store: dir.appendingPathComponent("crane.db"))
    }

    override func tearDown() async throws {
        try? await client?.close()
        emulator?.stop()
        try? FileManager.default.removeItem(at: dir)
    }

    func testV2SessionWithCheckpointNoteAndHandoff() async throws {
        let session = try await client.startSession(
            agent: "swift-agent", venture: venture, repo: repo, autoHeartbeat: false)

        let created = try await client.native.checkpoint(
            sessionId: session.id,
            request: CheckpointRequest(
                summary: "parsed the contract", workCompleted: ["types"], nextActions: ["tests"]))
        XCTAssertEqual(created.checkpointNumber, 1)
        let checkpoints = try await client.native.checkpoints(sessionId: session.id)
        XCTAssertEqual(checkpoints.map(\.summary), ["parsed the contract"])
        XCTAssertEqual(checkpoints.first?.nextActions, ["tests"])

        let note = try await client.native.createNote(
            request: NoteRequest(content: "written from Swift", title: "swift v2", tags: ["sdk"], venture: venture))
        let read = try await client.native.note(noteId: note.id)
        XCTAssertEqual(read.content, "written from Swift")
        XCTAssertEqual(read.tags, ["sdk"])

        let plan = Plan(next: "ship", files: ["V2Tests.swift"], n: 1)
        let result = try await session.end(summary: "v2 from Swift", payload: plan, statusLabel: "done")
        guard case let .delivered(handoff, endedAt) = result else { return XCTFail("not delivered: \(result)") }
        XCTAssertNotNil(endedAt)
        XCTAssertEqual(handoff.summary, "v2 from Swift")
        XCTAssertEqual(try handoff.payload(as: Plan.self), plan)
        let latest = try await client.native.latestHandoff(query: .session(sessionId: session.id))
        XCTAssertEqual(latest?.id, handoff.id)
    }
}
