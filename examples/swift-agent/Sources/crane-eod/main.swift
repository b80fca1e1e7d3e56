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

do {
    guard let summary = option("--summary") else {
        FileHandle.standardError.write(Data("crane-eod: --summary is required\n".utf8))
        exit(64)
    }
    var payload = String(decoding: try JSONSerialization.data(withJSONObject: ["summary": summary]), as: UTF8.self)
    if let file = option("--payload-file") {
        payload = try String(contentsOfFile: file, encoding: .utf8)
    } else if option("--payload") == "-" {
        payload = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
    }
    let co = try detect()
    let track = option("--track").flatMap { Int64($0) }
    let client = try CraneClient.fromEnv()
    guard let session = try client.attachBlocking(agent: co.agent, venture: co.venture, repo: co.repo, track: track) else {
        FileHandle.standardError.write(Data("crane-eod: no session for this checkout; run crane-sod first\n".utf8))
        exit(1)
    }
    let outcome = try session.endBlocking(request: EndRequest(
        summary: summary, payloadJson: payload,
        statusLabel: option("--status-label"), toAgent: option("--to-agent")))
    try client.closeBlocking()
    switch outcome {
    case let .delivered(handoff, _, _):
        print("handoff \(handoff.id) stored for session \(handoff.sessionId) (payload \(handoff.payloadHash.prefix(12))…)")
    case let .queued(localId):
        print("offline: handoff queued locally as \(localId); it will be delivered when the server is back")
        if flag("--require-delivery") { exit(2) }
    }
} catch let e as CraneError {
    FileHandle.standardError.write(Data("crane-eod: \(e)\n".utf8))
    exit(1)
} catch {
    FileHandle.standardError.write(Data("crane-eod: \(error)\n".utf8))
    exit(1)
}
