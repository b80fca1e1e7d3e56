// Test support: the real `crane-context-emulator` binary on a free port.
//
// Mirrors bindings/python/tests/conftest.py: each test starts its own
// emulator (with a SQLite file, so it can be restarted on the same port with
// the same data) and opens clients with their own store.
import CraneContext
import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

let relayKey = "test-relay-key-0123456789abcdef"

enum TestError: Error {
    case emulator(String)
    case timeout(String)
}

/// Repository root: three levels above this file's directory.
let repoRoot = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent()  // CraneContextTests
    .deletingLastPathComponent()  // Tests
    .deletingLastPathComponent()  // swift
    .deletingLastPathComponent()  // bindings
    .deletingLastPathComponent()

/// Not safe to share between threads; `@unchecked Sendable` only so an async
/// test can hand it to the main actor (see `restartOnMain`).
final class Emulator: @unchecked Sendable {
    let db: URL
    let heartbeatInterval: String
    private(set) var port = 0
    private(set) var url = ""
    private var process: Process?

    /// The generation it speaks (`v1` unless a test asks for today's `v2`).
    let protocolName: String

    init(directory: URL, heartbeatInterval: String = "480-720", protocolName: String = "v1") {
        db = directory.appendingPathComponent("emulator.db")
        self.heartbeatInterval = heartbeatInterval
        self.protocolName = protocolName
    }

    static var binary: URL {
        if let path = ProcessInfo.processInfo.environment["CRANE_EMULATOR_BIN"] {
            return URL(fileURLWithPath: path)
        }
        return repoRoot.appendingPathComponent("target/debug/crane-context-emulator")
    }

    @discardableResult
    func start() throws -> Emulator {
        let p = Process()
        p.executableURL = Emulator.binary
        p.arguments = [
            "--port", String(port), "--key", relayKey, "--db", db.path,
            "--heartbeat-interval", heartbeatInterval,
            // Most tests were written against the January worker (v1); the
            // emulator's own default is v2.
            "--protocol", protocolName,
        ]
        let out = Pipe()
        p.standardOutput = out
        p.standardError = FileHandle.nullDevice
        try p.run()
        var line = Data()
        while !line.contains(UInt8(ascii: "\n")) {
            let chunk = out.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            line.append(chunk)
        }
        let text = String(decoding: line, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        let prefix = "crane-context-emulator listening on "
        guard text.hasPrefix(prefix), let portText = text.split(separator: ":").last,
              let parsed = Int(portText) else {
            p.terminate()
            throw TestError.emulator("emulator did not start: \(text)")
        }
        url = String(text.dropFirst(prefix.count))
        port = parsed
        process = p
        return self
    }

    func stop() {
        guard let p = process else { return }
        p.terminate()
        p.waitUntilExit()
        process = nil
    }

    /// `restart` on the main thread, for async tests: Foundation on Linux
    /// reports a child's exit through the run loop of the thread that
    /// launched it, and only the main thread's run loop keeps running while
    /// an async test waits (a later `stop()` would wait forever otherwise).
    func restartOnMain() async throws {
        try await MainActor.run { try self.restart() }
    }

    /// Starts again on the same port with the same database.
    func restart() throws {
        stop()
        let deadline = Date().addingTimeInterval(10)
        while true {
            do {
                try start()
                return
            } catch {
                if Date() > deadline { throw error }
                Thread.sleep(forTimeInterval: 0.2)
            }
        }
    }

    /// Calls the control API under /__emulator/.
    @discardableResult
    func control(_ method: String, _ path: String, _ body: [String: Any]? = nil) throws -> [String: Any] {
        var request = URLRequest(url: URL(string: "\(url)/__emulator/\(path)")!)
        request.httpMethod = method
        request.setValue("application/json", forHTTPHeaderField: "content-type")
        if let body = body {
            request.httpBody = try JSONSerialization.data(withJSONObject: body)
        }
        let done = DispatchSemaphore(value: 0)
        let answer = Answer()
        URLSession.shared.dataTask(with: request) { data, _, _ in
            answer.set(data)
            done.signal()
        }.resume()
        done.wait()
        guard let data = answer.get(),
              let json = try JSONSerialization.jsonObject(with: data) as? [String: Any] else {
            throw TestError.emulator("no answer from \(path)")
        }
        return json
    }

    func state() throws -> [String: Any] { try control("GET", "state") }

    func fault(_ rule: [String: Any]) throws { try control("POST", "faults", rule) }

    func handoffs(of sessionId: String) throws -> [[String: Any]] {
        let all = (try state()["handoffs"] as? [[String: Any]]) ?? []
        return all.filter { ($0["session_id"] as? String) == sessionId }
    }

    func requests(_ route: String) throws -> Int {
        ((try state()["requests_count"] as? [String: Any])?[route] as? Int) ?? 0
    }
}

/// The body of one control-API answer, handed from URLSession's queue to the
/// waiting test thread under a lock (Swift 6 forbids mutating a captured var
/// from concurrently-executing code).
final class Answer: @unchecked Sendable {
    private let lock = NSLock()
    private var data: Data?

    func set(_ value: Data?) {
        lock.lock()
        data = value
        lock.unlock()
    }

    func get() -> Data? {
        lock.lock()
        defer { lock.unlock() }
        return data
    }
}

/// Collects a client's events from the moment it is created, on a task of
/// its own; tests wait for what they expect with a deadline.
final class Recorder: @unchecked Sendable {
    private let lock = NSCondition()
    private var events: [CraneEvent] = []
    private var task: Task<Void, Never>?

    init(_ stream: AsyncStream<CraneEvent>) {
        task = Task { [weak self] in
            for await event in stream {
                guard let self else { return }
                self.append(event)
            }
        }
    }

    private func append(_ event: CraneEvent) {
        lock.lock()
        events.append(event)
        lock.broadcast()
        lock.unlock()
    }

    deinit { task?.cancel() }

    var all: [CraneEvent] {
        lock.lock()
        defer { lock.unlock() }
        return events
    }

    /// Waits (off the cooperative pool) until `predicate` holds for the events so far.
    @discardableResult
    func wait(timeout: TimeInterval, _ predicate: @escaping @Sendable ([CraneEvent]) -> Bool) async throws -> [CraneEvent] {
        try await withCheckedThrowingContinuation { continuation in
            Thread.detachNewThread { [self] in
                continuation.resume(with: Result { try self.block(timeout: timeout, predicate) })
            }
        }
    }

    private func block(timeout: TimeInterval, _ predicate: ([CraneEvent]) -> Bool) throws -> [CraneEvent] {
        let deadline = Date().addingTimeInterval(timeout)
        lock.lock()
        defer { lock.unlock() }
        while !predicate(events) {
            if !lock.wait(until: deadline) {
                throw TestError.timeout("timed out after \(timeout)s; events: \(events)")
            }
        }
        return events
    }
}

func makeClient(_ emulator: Emulator, store: URL, key: String = relayKey) throws -> CraneClient {
    try CraneClient(url: emulator.url, key: key, options: .init(storePath: store.path, heartbeatJitter: 0))
}

let venture = "vc"
let repo = "venturecrane/crane-context"

/// A payload as a Swift agent writes one: a `Codable` struct.
struct Plan: Codable, Equatable {
    var next: String
    var files: [String]
    var n: Int
}

func isHeartbeat(_ e: CraneEvent) -> Bool {
    if case .heartbeatSent = e { return true }
    return false
}

func deliveredIds(_ events: [CraneEvent]) -> [String] {
    events.compactMap { e -> String? in
        if case let .handoffDelivered(_, localId, _, _) = e { return localId }
        return nil
    }
}
