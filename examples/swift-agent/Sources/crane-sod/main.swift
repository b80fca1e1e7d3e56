// Start of day: start or resume this checkout's session (like `crane sod`).
// Prints the session, the last handoff for this venture/repo/track, the other
// active sessions and the docs; queued work of this tuple is delivered first.
// `--keepalive` keeps heartbeating, printing each event, until interrupted.
import AgentContext
import CraneContext
import Foundation

func sod() async throws {
    let co = try detect()
    let track = option("--track").flatMap { Int64($0) }
    let keepalive = flag("--keepalive")
    let client = try CraneClient.fromEnvironment()
    let session = try await client.startSession(
        agent: co.agent, venture: co.venture, repo: co.repo, track: track,
        branch: co.branch, commitSha: co.commitSha, host: co.host, clientName: co.client,
        includeDocs: true, autoHeartbeat: keepalive)
    print("session \(session.id) (\(session.startInfo?.status ?? "attached"))")
    print("  \(co.agent) on \(co.venture) \(co.repo)\(track.map { " track \($0)" } ?? "")")
    print("  next heartbeat at \(session.nextHeartbeatAt.formatted(date: .omitted, time: .standard))")

    let last = try await client.lastHandoff(venture: co.venture, repo: co.repo, track: track)
    if let h = last.handoff {
        let stale = last.isStale ? " (cached, \(Int(last.age ?? 0))s old)" : ""
        print("last handoff\(stale): \"\(h.summary)\" by \(h.fromAgent) at \(h.createdAt.formatted())")
        print("  payload: \(h.payloadJSON)")
    } else {
        print("no handoff yet for this venture/repo/track")
    }
    let others = try await client.activeSessions(agent: co.agent, venture: co.venture, repo: co.repo)
        .filter { $0.id != session.id }
    print("other active sessions: \(others.count)")
    for s in others {
        print("  \(s.id) track \(s.track.map(String.init) ?? "-") last heartbeat \(s.lastHeartbeatAt.formatted())")
    }
    if let docs = session.startInfo?.docs, !docs.isEmpty {
        print("docs: \(docs.map(\.name).joined(separator: ", "))")
    }
    if keepalive {
        print("heartbeating; Ctrl-C to stop (the session stays active)")
        for await event in client.events() {
            FileHandle.standardError.write(Data("  event: \(event)\n".utf8))
        }
    }
    try await client.close()
}

do {
    try await sod()
} catch let error as CraneError {
    FileHandle.standardError.write(Data("crane-sod: \(error.message)\n".utf8))
    exit(1)
} catch {
    FileHandle.standardError.write(Data("crane-sod: \(error)\n".utf8))
    exit(1)
}
