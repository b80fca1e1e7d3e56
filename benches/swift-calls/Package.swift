// swift-tools-version:5.9
// Item 11 of BENCHMARKS.md: the Swift binding's per-call cost next to
// Foundation's own HTTP client (URLSession, keep-alive) for the same requests.
// Built in release and run by benches/swift-calls/run.sh (which scripts/bench.sh
// calls) against the release library and emulator.
import PackageDescription

let package = Package(
    name: "CraneSwiftBench",
    platforms: [.macOS(.v13)],
    dependencies: [
        .package(name: "CraneContext", path: "../../bindings/swift"),
    ],
    targets: [
        .executableTarget(
            name: "crane-swift-bench",
            dependencies: [.product(name: "CraneContext", package: "CraneContext")],
            path: "Sources/crane-swift-bench"
        ),
    ]
)
