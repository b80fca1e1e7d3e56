// What `crane sod` / `crane eod` detect about the checkout they run in: the
// repository from `git remote get-url origin` (https and ssh forms), branch
// and commit from git, the venture from the org (the CLI's defaults), and the
// agent name `<client>-<host>` in lowercase letters, digits and dashes.
import Foundation

public let ventures = ["venturecrane": "vc", "siliconcrane": "sc", "durganfieldguide": "dfg"]

public struct Checkout {
    public let agent: String
    public let venture: String
    public let repo: String
    public let branch: String?
    public let commitSha: String?
    public let client: String
    public let host: String
}

public enum AgentContextError: Error, CustomStringConvertible {
    case noRepo
    case noVenture(String)
    public var description: String {
        switch self {
        case .noRepo: return "cannot tell the repository: no git remote 'origin'; pass --repo owner/name"
        case .noVenture(let org): return "no venture known for org \(org); pass --venture CODE"
        }
    }
}

public func git(_ args: String...) -> String? {
    let p = Process()
    p.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    p.arguments = ["git"] + args
    let out = Pipe()
    p.standardOutput = out
    p.standardError = FileHandle.nullDevice
    guard (try? p.run()) != nil else { return nil }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    p.waitUntilExit()
    guard p.terminationStatus == 0 else { return nil }
    let text = String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
    return text.isEmpty ? nil : text
}

/// `owner/name` from `https://github.com/owner/name.git` or `git@github.com:owner/name.git`.
public func repoFromRemote(_ url: String) -> String? {
    var text = url.hasSuffix("/") ? String(url.dropLast()) : url
    if text.hasSuffix(".git") { text = String(text.dropLast(4)) }
    let parts = text.split(whereSeparator: { $0 == "/" || $0 == ":" })
    guard parts.count >= 2 else { return nil }
    return "\(parts[parts.count - 2])/\(parts[parts.count - 1])"
}

func sanitize(_ text: String) -> String {
    let mapped = text.lowercased().map { c -> Character in
        (c.isASCII && (c.isLetter || c.isNumber)) || c == "-" ? c : "-"
    }
    return String(mapped).split(separator: "-").joined(separator: "-")
}

/// Reads `--name value` from the command line.
public func option(_ name: String) -> String? {
    let args = CommandLine.arguments
    guard let i = args.firstIndex(of: name), i + 1 < args.count else { return nil }
    return args[i + 1]
}

/// Every value of a repeatable `--name value` option, in order.
public func options(_ name: String) -> [String] {
    let args = CommandLine.arguments
    return args.indices.dropLast().filter { args[$0] == name }.map { args[$0 + 1] }
}

public func flag(_ name: String) -> Bool { CommandLine.arguments.contains(name) }

public func detect() throws -> Checkout {
    guard let repo = option("--repo") ?? git("remote", "get-url", "origin").flatMap(repoFromRemote) else {
        throw AgentContextError.noRepo
    }
    let org = String(repo.split(separator: "/").first ?? "").lowercased()
    guard let venture = option("--venture") ?? ventures[org] else { throw AgentContextError.noVenture(org) }
    let env = ProcessInfo.processInfo.environment
    let client = [("CLAUDE_CLI_VERSION", "claude"), ("CODEX_CLI_VERSION", "codex"), ("GEMINI_CLI_VERSION", "gemini")]
        .first { env[$0.0] != nil }?.1 ?? "crane"
    let host = ProcessInfo.processInfo.hostName
    return Checkout(
        agent: option("--agent") ?? sanitize("\(client)-\(host)"),
        venture: venture, repo: repo,
        branch: git("rev-parse", "--abbrev-ref", "HEAD"), commitSha: git("rev-parse", "HEAD"),
        client: client, host: host)
}
