// swift-tools-version:5.9
// Example agent commands on the Swift binding, equivalent to `crane sod`,
// `crane checkpoint` (with `crane notes add`) and `crane eod`:
//
//   cargo build --features ffi                      # the Rust library
//   export CRANE_CONTEXT_URL=http://127.0.0.1:PORT CRANE_CONTEXT_KEY=...   # emulator: --port 0 prints PORT
//   swift run --package-path examples/swift-agent crane-sod [--track N]
//   swift run --package-path examples/swift-agent crane-checkpoint --summary "parser done" [--next "tests"] [--note TEXT]
//   swift run --package-path examples/swift-agent crane-eod --summary "what I did" [--payload-file F]
import PackageDescription

let package = Package(
    name: "CraneExamples",
    platforms: [.macOS(.v12)],
    dependencies: [
        .package(name: "CraneContext", path: "../../bindings/swift"),
    ],
    targets: [
        .target(name: "AgentContext", path: "Sources/AgentContext"),
        // bindings/swift/README.md's snippets, compiled (tests/readme.rs keeps them equal).
        .target(
            name: "ReadmeSnippet",
            dependencies: [.product(name: "CraneContext", package: "CraneContext")],
            path: "Sources/ReadmeSnippet"
        ),
        .executableTarget(
            name: "crane-sod",
            dependencies: ["AgentContext", .product(name: "CraneContext", package: "CraneContext")],
            path: "Sources/crane-sod"
        ),
        .executableTarget(
            name: "crane-checkpoint",
            dependencies: ["AgentContext", .product(name: "CraneContext", package: "CraneContext")],
            path: "Sources/crane-checkpoint"
        ),
        .executableTarget(
            name: "crane-eod",
            dependencies: ["AgentContext", .product(name: "CraneContext", package: "CraneContext")],
            path: "Sources/crane-eod"
        ),
    ]
)
