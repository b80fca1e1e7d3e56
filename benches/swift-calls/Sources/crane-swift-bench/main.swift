// Per-call cost of the Swift binding next to URLSession (keep-alive).
//
//   crane-swift-bench --url http://127.0.0.1:PORT [--quick] [--out FILE] [--tmp DIR]
//
// The same requests (heartbeat, update, end, latest handoff) through the
// package's public API (`CraneClient` / `Session`, async) and through one
// `URLSession` (ephemeral configuration, one kept-alive connection), against
// one emulator, interleaved call by call (the order of the two sides swaps
// every round). The binding's update and end are persisted before they are
// sent (one SQLite commit with an fsync), which URLSession does not do: their
// ratios say what that durability costs here; the durable reference (the
// request plus one commit at the same durability) is measured by items 9
// (Rust) and 10 (Python).
import CraneContext
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

let key = "test-relay-key-0123456789abcdef"
let branch = "feature/bench"
let sha = "0123456789abcdef0123456789abcdef01234567"

struct BenchError: Error, CustomStringConvertible {
    let description: String
}

func option(_ name: String) -> String? {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

/// A payload of about `size` bytes of JSON, shaped like an agent's handoff.
func payloadJSON(size: Int = 1024) -> String {
    var tasks: [[String: Any]] = []
    var n = 64
    var i = 0
    while n < size {
        let t: [String: Any] = [
            "id": i, "title": "Refactor módulo \(i): split the handler and add tests",
            "done": i % 3 == 0, "estimate_h": Double(i) * 0.25 + 0.5,
            "files": ["src/area_\(i % 17)/mod.rs", "tests/t_\(i).rs"],
            "notes": ["owner": "agent-\(i % 5)", "ß": "naïve café ✓"],
        ]
        n += (try? JSONSerialization.data(withJSONObject: t))?.count ?? 64
        tasks.append(t)
        i += 1
    }
    let payload: [String: Any] = [
        "summary_md": "## State\nWork continues.", "next": ["review", "ship"], "tasks": tasks, "version": 3,
    ]
    let data = (try? JSONSerialization.data(withJSONObject: payload)) ?? Data("{}".utf8)
    return String(decoding: data, as: UTF8.self)
}

/// The peer: one URLSession, the requests built by hand.
final class Raw: @unchecked Sendable {
    let base: String
    let session: URLSession

    init(base: String) {
        self.base = base
        let config = URLSessionConfiguration.ephemeral
        config.httpMaximumConnectionsPerHost = 1
        session = URLSession(configuration: config)
    }

    func send(_ method: String, _ path: String, body: Data?, idempotent: Bool) async throws -> Data {
        guard let url = URL(string: base + path) else { throw BenchError(description: "bad url \(path)") }
        var req = URLRequest(url: url)
        req.httpMethod = method
        req.setValue(key, forHTTPHeaderField: "X-Relay-Key")
        if let body {
            req.httpBody = body
            req.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        if idempotent {
            req.setValue(UUID().uuidString.lowercased(), forHTTPHeaderField: "Idempotency-Key")
        }
        let (data, response): (Data, URLResponse?) = try await withCheckedThrowingContinuation { k in
            session.dataTask(with: req) { data, response, error in
                if let error { k.resume(throwing: error); return }
                k.resume(returning: (data ?? Data(), response))
            }.resume()
        }
        let status = (response as? HTTPURLResponse)?.statusCode ?? 0
        guard (200..<300).contains(status) else {
            throw BenchError(description: "\(method) \(path): HTTP \(status) \(String(decoding: data.prefix(200), as: UTF8.self))")
        }
        return data
    }

    func post(_ path: String, _ json: [String: Any], idempotent: Bool) async throws -> [String: Any] {
        let body = try JSONSerialization.data(withJSONObject: json)
        let data = try await send("POST", path, body: body, idempotent: idempotent)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    func get(_ path: String) async throws -> [String: Any] {
        let data = try await send("GET", path, body: nil, idempotent: false)
        return (try JSONSerialization.jsonObject(with: data) as? [String: Any]) ?? [:]
    }

    func sod(agent: String, repo: String) async throws -> String {
        let r = try await post("/sod", [
            "agent": agent, "venture": "vc", "repo": repo, "include_docs": false, "schema_version": "1.0",
        ], idempotent: true)
        guard let sid = r["session_id"] as? String else { throw BenchError(description: "no session_id") }
        return sid
    }
}

struct Stats {
    let p50: Double
    let p99: Double
    let n: Int

    init(_ samples: [Double]) {
        let s = samples.sorted()
        func pick(_ p: Double) -> Double {
            s.isEmpty ? 0 : s[min(s.count - 1, Int((p / 100 * Double(s.count - 1)).rounded()))]
        }
        p50 = pick(50)
        p99 = pick(99)
        n = s.count
    }

    var json: [String: Any] { ["n": n, "p50_us": (p50 * 10).rounded() / 10, "p99_us": (p99 * 10).rounded() / 10] }
}

/// Runs both sides once per round (order swapped every round); microseconds.
func rounds(
    _ n: Int, warmup: Int, sdk: () async throws -> Void, raw: () async throws -> Void
) async throws -> (sdk: [Double], raw: [Double]) {
    var out: ([Double], [Double]) = ([], [])
    let clock = ContinuousClock()
    for i in 0..<(warmup + n) {
        for side in (i % 2 == 0 ? [0, 1] : [1, 0]) {
            let d = try await clock.measure { side == 0 ? try await sdk() : try await raw() }
            let us = Double(d.components.seconds) * 1e6 + Double(d.components.attoseconds) / 1e12
            if i >= warmup {
                if side == 0 { out.0.append(us) } else { out.1.append(us) }
            }
        }
    }
    return (out.0, out.1)
}

func main() async throws {
    guard let url = option("--url") else { throw BenchError(description: "--url is required") }
    let quick = CommandLine.arguments.contains("--quick")
    let (hb, up, end, latest, warm) = quick ? (300, 200, 100, 300, 30) : (1500, 800, 400, 1500, 100)
    let tmp = URL(fileURLWithPath: option("--tmp") ?? NSTemporaryDirectory())
        .appendingPathComponent("crane-swift-bench-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: tmp, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: tmp) }

    let client = try CraneClient(url: url, key: key, options: .init(storePath: tmp.appendingPathComponent("crane.db").path))
    let raw = Raw(base: url)
    let payload = payloadJSON()
    let payloadObject = try JSONSerialization.jsonObject(with: Data(payload.utf8))
    let session = try await client.startSession(agent: "swift-bench-sdk", venture: "vc", repo: "bench/swift", autoHeartbeat: false)
    let rawSid = try await raw.sod(agent: "swift-bench-raw", repo: "bench/swift")
    var endSdk: [Session] = []
    var endRaw: [String] = []
    for i in 0..<(end + warm) {
        endSdk.append(try await client.startSession(
            agent: "swift-end-sdk-\(i)", venture: "vc", repo: "bench/swift-end", autoHeartbeat: false))
        endRaw.append(try await raw.sod(agent: "swift-end-raw-\(i)", repo: "bench/swift-end"))
    }
    // A session with a handoff, for the latest-handoff read.
    let latestSid = try await raw.sod(agent: "swift-latest", repo: "bench/swift-latest")
    _ = try await raw.post("/eod", [
        "session_id": latestSid, "summary": "latest", "payload": payloadObject, "schema_version": "1.0",
    ], idempotent: true)
    let latestPath = "/handoffs/latest?session_id=\(latestSid)"

    var results: [[String: Any]] = []
    func record(_ call: String, _ r: (sdk: [Double], raw: [Double])) {
        let (s, b) = (Stats(r.sdk), Stats(r.raw))
        let (r50, r99) = (s.p50 / b.p50, s.p99 / b.p99)
        print(String(format: "  %@ sdk p50 %7.1fus p99 %8.1fus | URLSession p50 %7.1fus p99 %8.1fus | ratio p50 %.3f p99 %.3f",
                     call.padding(toLength: 16, withPad: " ", startingAt: 0) as NSString, s.p50, s.p99, b.p50, b.p99, r50, r99))
        results.append([
            "call": call, "sdk": s.json, "urlsession": b.json,
            "ratio_p50": (r50 * 1000).rounded() / 1000, "ratio_p99": (r99 * 1000).rounded() / 1000,
        ])
    }

    record("heartbeat", try await rounds(hb, warmup: warm, sdk: {
        _ = try await session.heartbeat()
    }, raw: {
        _ = try await raw.post("/heartbeat", ["session_id": rawSid], idempotent: false)
    }))
    record("update", try await rounds(up, warmup: warm, sdk: {
        guard try await session.update(branch: branch, commitSha: sha).isApplied else {
            throw BenchError(description: "update queued, not applied")
        }
    }, raw: {
        _ = try await raw.post("/update", [
            "session_id": rawSid, "branch": branch, "commit_sha": sha, "schema_version": "1.0",
        ], idempotent: true)
    }))
    var (si, ri) = (endSdk.makeIterator(), endRaw.makeIterator())
    record("end", try await rounds(end, warmup: warm, sdk: {
        guard let s = si.next() else { throw BenchError(description: "out of sessions") }
        guard case .delivered = try await s.end(summary: "bench handoff", payloadJSON: payload) else {
            throw BenchError(description: "end queued, not delivered")
        }
    }, raw: {
        guard let sid = ri.next() else { throw BenchError(description: "out of sessions") }
        _ = try await raw.post("/eod", [
            "session_id": sid, "summary": "bench handoff", "payload": payloadObject, "schema_version": "1.0",
        ], idempotent: true)
    }))
    record("latest handoff", try await rounds(latest, warmup: warm, sdk: {
        guard try await client.latestHandoff(.session(sessionId: latestSid)) != nil else {
            throw BenchError(description: "no latest handoff")
        }
    }, raw: {
        _ = try await raw.get(latestPath)
    }))
    try await client.close()

    if let out = option("--out") {
        let doc: [String: Any] = ["item": 11, "calls": results]
        try JSONSerialization.data(withJSONObject: doc, options: [.sortedKeys]).write(to: URL(fileURLWithPath: out))
    }
}

do {
    try await main()
} catch {
    FileHandle.standardError.write(Data("crane-swift-bench: \(error)\n".utf8))
    exit(1)
}
