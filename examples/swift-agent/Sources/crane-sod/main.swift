// Start of day: start or resume this checkout's session (like `crane sod`).
// Prints the session, the last handoff for this venture/repo/track, the other
// active sessions and the cached docs; queued work of this tuple is delivered
// first. `--keepalive` keeps heartbeating until interrupted.
import AgentContext
import CraneContext
import Foundation

final class Printer: CraneListener, @unchecked Sendable {
    func onEvent(event: CraneEvent) throws {
        FileHandle.standardError.write(Data("  event: \(event)\n".utf8))
    }
}

do {
    let co = try detect()
    let track = option("--track").flatMap { Int64($0) }
    let keepalive = flag("--keepalive")
    let client = try CraneClient.fromEnv(listener: keepalive ? Printer() : nil)
    let session = try client.startSessionBlocking(request: StartRequest(
        agent: co.agent, venture: co.venture, repo: co.repo, track: track,
        branch: co.branch, commitSha: co.commitSha, host: co.host, client: co.client,
        autoHeartbeat: keepalive))
    print("session \(session.sessionId()) (\(session.startInfo()?.status ?? "attached"))")
    print("  \(co.agent) on \(co.venture) \(co.repo)\(track.map { " track \($0)" } ?? "")")
    print("  next heartbeat at \(session.nextHeartbeatAt())")

    let last = try client.lastHandoffBlocking(venture: co.venture, repo: co.repo, track: track)
    if let h = last.handoff {
        let stale = last.stale ? " (cached, \(Int(last.ageSeconds ?? 0))s old)" : ""
        print("last handoff\(stale): \"\(h.summary)\" by \(h.fromAgent) at \(h.createdAt)")
        print("  payload: \(h.payloadJson)")
    } else {
        print("no handoff yet for this venture/repo/track")
    }
    let active = try client.activeSessionsBlocking(agent: co.agent, venture: co.venture, repo: co.repo, track: nil)
    let others = active.sessions.filter { $0.id != session.sessionId() }
    print("other active sessions: \(others.count)")
    for s in others { print("  \(s.id) track \(s.track.map(String.init) ?? "-") last heartbeat \(s.lastHeartbeatAt)") }
    if let docs = try client.cachedDocsBlocking(), !docs.docs.isEmpty {
        print("docs cached in \(client.storePath()): \(docs.docs.map(\.docName).joined(separator: ", "))")
    }
    if keepalive {
        print("heartbeating; Ctrl-C to stop (the session stays active)")
        dispatchMain()
    }
    try client.closeBlocking()
} catch let e as CraneError {
    FileHandle.standardError.write(Data("crane-sod: \(e)\n".utf8))
    exit(1)
} catch {
    FileHandle.standardError.write(Data("crane-sod: \(error)\n".utf8))
    exit(1)
}
