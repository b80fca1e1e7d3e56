// swift-tools-version:5.9
// The Crane Context SDK for Swift agents: the Rust library through uniffi.
//
// `Sources/CraneContext/` is the public API, hand-written over the bindings
// uniffi generates: `Sources/CraneContextBindings/CraneContextBindings.swift`
// and `Sources/CraneContextFFI/` come from `generate.sh` (do not edit them).
// The package links `libcrane_context` (.so on Linux, .dylib on macOS), built
// with `cargo build --features ffi` into `../../target/debug`; set
// CRANE_CONTEXT_LIB_DIR to link another build (e.g. target/release).
import Foundation
import PackageDescription

let libDir = Context.environment["CRANE_CONTEXT_LIB_DIR"]
    ?? URL(fileURLWithPath: Context.packageDirectory)
        .appendingPathComponent("../../target/debug").standardized.path

let package = Package(
    name: "CraneContext",
    platforms: [.macOS(.v12)],
    products: [
        .library(name: "CraneContext", targets: ["CraneContext"]),
    ],
    targets: [
        // The C declarations of the Rust library (header + modulemap, which links it).
        .systemLibrary(name: "CraneContextFFI", path: "Sources/CraneContextFFI"),
        // The generated Swift bindings: an implementation detail of CraneContext.
        .target(
            name: "CraneContextBindings",
            dependencies: ["CraneContextFFI"],
            path: "Sources/CraneContextBindings",
            linkerSettings: [
                .unsafeFlags(["-L", libDir, "-Xlinker", "-rpath", "-Xlinker", libDir]),
            ]
        ),
        // The public API: async methods, Date, Codable payloads, AsyncStream events.
        .target(
            name: "CraneContext",
            dependencies: ["CraneContextBindings"],
            path: "Sources/CraneContext"
        ),
        .testTarget(
            name: "CraneContextTests",
            // The public API only: the generated module is not a dependency.
            dependencies: ["CraneContext"],
            path: "Tests/CraneContextTests"
        ),
    ]
)
