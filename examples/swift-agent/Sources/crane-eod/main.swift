// End of day: end this checkout's session with a handoff (like `crane eod`).
//
//   crane-eod --summary TEXT [--payload-file FILE | --payload -] [--status-label L]
//             [--to-agent A] [--require-delivery]
//
// Offline, the handoff is queued locally and delivered later; this still
// exits 0 unless --require-delivery is given (then 2).
import AgentContext
import CraneContext
import Foundation

/// What this agent leaves for the next one when no payload is given.
struct DayNotes: Codable {
    var summary: String
    var branch: String?
}

func eod() async throws -> Int32 {
    guard let summary = option("--summary") else {
        FileHandle.standardError.write(Data("crane-eod: --summary is required\n".utf8))
        return 64
    }
    let co = try detect()
    let track = option("--track").flatMap { Int64($0) }
    let client = try CraneClient.fromEnvironment()
    guard let session = try await client.attach(agent: co.agent, venture: co.venture, repo: co.repo, track: track) else {
        FileHandle.standardError.write(Data("crane-eod: no session for this checkout; run crane-sod first\n".utf8))
        return 1
    }
    let statusLabel = option("--status-label"), toAgent = option("--to-agent")
    let result: EndResult
    if let file = option("--payload-file") {
        let json = try String(contentsOfFile: file, encoding: .utf8)
        result = try await session.end(summary: summary, payloadJSON: json, statusLabel: statusLabel, toAgent: toAgent)
    } else if option("--payload") == "-" {
        let json = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
        result = try await session.end(summary: summary, payloadJSON: json, statusLabel: statusLabel, toAgent: toAgent)
    } else {
        let notes = DayNotes(summary: summary, branch: co.branch)
        result = try await session.end(summary: summary, payload: notes, statusLabel: statusLabel, toAgent: toAgent)
    }
    try await client.close()
    switch result {
    case let .delivered(handoff, _):
        print("handoff \(handoff.id) stored for session \(handoff.sessionId) (payload \(handoff.payloadHash.prefix(12))…)")
        return 0
    case let .queued(localId):
        print("offline: handoff queued locally as \(localId); it will be delivered when the server is back")
        return flag("--require-delivery") ? 2 : 0
    }
}

do {
    exit(try await eod())
} catch let error as CraneError {
    FileHandle.standardError.write(Data("crane-eod: \(error.message)\n".utf8))
    exit(1)
} catch {
    FileHandle.standardError.write(Data("crane-eod: \(error)\n".utf8))
    exit(1)
}
