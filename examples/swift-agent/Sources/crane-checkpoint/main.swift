// Mid-session progress (like `crane checkpoint`, and `crane notes add` with
// --note): records a checkpoint on this checkout's session and, optionally, a
// note filed under its venture.
//
//   crane-checkpoint --summary TEXT [--done ITEM]… [--blocker ITEM]… [--next ITEM]…
//                    [--note TEXT [--note-title T]] [--require-delivery]
//
// Both go through the local queue: offline they are queued and delivered
// later, never twice; this still exits 0 unless --require-delivery is given
// (then 3, as the CLI does).
import AgentContext
import CraneContext
import Foundation

func checkpoint() async throws -> Int32 {
    guard let summary = option("--summary") else {
        FileHandle.standardError.write(Data("crane-checkpoint: --summary is required\n".utf8))
        return 64
    }
    let co = try detect()
    let track = option("--track").flatMap { Int64($0) }
    let client = try CraneClient.fromEnvironment()
    guard let session = try await client.attach(agent: co.agent, venture: co.venture, repo: co.repo, track: track) else {
        FileHandle.standardError.write(Data("crane-checkpoint: no session for this checkout; run crane-sod first\n".utf8))
        return 1
    }
    var queued = false
    switch try await session.checkpoint(
        summary: summary, workCompleted: options("--done"), blockers: options("--blocker"),
        nextActions: options("--next"))
    {
    case let .stored(checkpoint):
        print("checkpoint \(checkpoint.number) stored for session \(checkpoint.sessionId) (\(checkpoint.id))")
    case let .queued(localId):
        print("offline: checkpoint queued locally as \(localId); it will be delivered when the server is back")
        queued = true
    }
    if let text = option("--note") {
        switch try await client.notes.create(
            text, title: option("--note-title") ?? summary, venture: co.venture, sessionId: session.id)
        {
        case let .stored(note):
            print("note \(note.id) stored under \(note.venture ?? "global")")
        case let .queued(localId):
            print("offline: note queued locally as \(localId)")
            queued = true
        }
    }
    session.stop()  // the session stays active; crane-eod ends it
    try await client.close()
    return queued && flag("--require-delivery") ? 3 : 0
}

do {
    exit(try await checkpoint())
} catch let error as CraneError {
    FileHandle.standardError.write(Data("crane-checkpoint: \(error.message)\n".utf8))
    exit(1)
} catch {
    FileHandle.standardError.write(Data("crane-checkpoint: \(error)\n".utf8))
    exit(1)
}
