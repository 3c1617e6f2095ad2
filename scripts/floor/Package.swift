// swift-tools-version: 6.2
import PackageDescription

// The floor of W1 on this stack: Hummingbird answering a form POST with one row made durable by group commit on
// SQLite (WAL, synchronous=FULL), nothing else. `scripts/bench-floor` builds and measures it beside the payments
// server; see BENCHMARKS.md.
let package = Package(
    name: "floor",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
    ],
    targets: [
        .executableTarget(
            name: "floor",
            dependencies: [
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
            ]
        )
    ]
)
