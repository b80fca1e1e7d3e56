// The Swift snippets of bindings/swift/README.md, compiled by
// bindings/swift/test.sh with the other examples (warnings are errors).
// tests/readme.rs checks that the README's two ```swift blocks are exactly
// the text between the markers below (the first with its two imports).
// README:begin
import CraneContext
import Foundation

// README:end

/// The README's first snippet: a session started, updated and ended, the
/// repository's handoffs listed.
public func readmeQuickstart() async throws -> (CraneClient, Session) {
// README:begin
struct Plan: Codable { var next: String; var files: [String] }

let env = ProcessInfo.processInfo.environment  // e.g. an emulator started with --port 0
let client = try CraneClient(url: env["CRANE_CONTEXT_URL"] ?? "", key: env["CRANE_CONTEXT_KEY"] ?? "")
let session = try await client.startSession(agent: "my-agent", venture: "vc", repo: "owner/repo")
try await session.update(branch: "main")                                  // heartbeats run by themselves
switch try await session.end(summary: "done", payload: Plan(next: "tests", files: ["a.swift"])) {
case let .delivered(handoff, _): print("stored", handoff.id, try handoff.payload(as: Plan.self).next)
case let .queued(localId): print("offline; queued", localId)            // delivered later, exactly once
}
for try await handoff in client.handoffs(.repo(venture: "vc", repo: "owner/repo")) {   // every page
    print(handoff.createdAt, handoff.summary)
}
try await client.close()                                                 // before the process exits
// README:end
    return (client, session)
}

/// The README's second snippet (v2): checkpoints, notes, keep-open ends.
public func readmeV2(client: CraneClient, session: Session) async throws {
// README:begin
switch try await session.checkpoint(summary: "parser done", workCompleted: ["parser"], nextActions: ["tests"]) {
case let .stored(cp): print("checkpoint", cp.number, cp.id)
case let .queued(localId): print("offline; queued", localId)           // delivered before the end, never twice
}
let written = try await client.notes.create("staging needs the new key", title: "deploy", tags: ["ops"], venture: "vc")
for try await n in client.notes.list(venture: "vc", tags: ["ops"]) { print(n.id, n.title ?? "-") }   // every page
if let id = written.note?.id { try await client.notes.update(id, tags: ["ops", "keys"]); try await client.notes.archive(id) }
try await session.end(summary: "half way", payload: ["step": 1], keepOpen: true)   // handoff stored, session stays active
let summaries = try await session.checkpoints().map(\.summary)          // newest first
let report = try await client.verify()                                  // a throwaway session through every route
let doctor = try await client.doctor(repo: "owner/repo")
print(summaries, report.passed, report.generation?.rawValue ?? "?", doctor.isOK, doctor.venture ?? "-")
// README:end
}
