// swift-tools-version: 6.2
import PackageDescription

let package = Package(
    name: "payments",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "payments", targets: ["PaymentsCLI"])
    ],
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-configuration.git", from: "1.4.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/vapor/postgres-nio.git", .upToNextMinor(from: "1.33.2")),
    ],
    targets: [
        // Pure values and rules: money, cards, the PaymentIntent state machine, the test-mode
        // card network's behaviour table, Stripe's error taxonomy, and the interfaces of the store and the card
        // network. Foundation at most.
        .target(name: "PaymentsCore"),
        // What every SQLite file of the service shares: group commit over a GRDB writer.
        .target(
            name: "PaymentsSQLite",
            dependencies: [
                "CSQLiteWAL",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        // The SQLite store (the embedded default) through GRDB: the database type, migrations, repositories.
        .target(
            name: "PaymentsStore",
            dependencies: [
                "PaymentsCore",
                "PaymentsSQLite",
                .product(name: "GRDB", package: "GRDB.swift"),
                // SQLite's C interface, for rows the store reads in place (Records/StatementColumns.swift)
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        // The PostgreSQL store (issue #13): connection settings from a postgres:// URL, the migration runner for
        // migrations/postgres/, and PostgresPaymentStore (the same PaymentStore on a PostgresNIO connection pool).
        .target(
            name: "PaymentsPostgres",
            dependencies: [
                "PaymentsCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        // Moving the data between the two stores (issue #13): `payments export` writes a database of either kind,
        // in one snapshot, as a portable archive (JSON lines, each table's rows checked by SHA-256), and
        // `payments import` fills a new database of either kind from one, all or nothing.
        .target(
            name: "PaymentsArchive",
            dependencies: [
                "PaymentsCore",
                "PaymentsPostgres",
                "PaymentsSQLite",
                "PaymentsStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        // The built-in test-mode card network and its own ledger (a separate SQLite file, as a remote
        // acquirer's records would be).
        .target(
            name: "PaymentsNetwork",
            dependencies: ["PaymentsCore", "PaymentsSQLite", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Use cases: one type per job, orchestrating domain rules, the store interface (PaymentStore, in Core) and the
        // card network; idempotency; the card vault.
        .target(
            name: "Payments",
            dependencies: [
                "PaymentsCore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Hummingbird routes, Stripe's wire format, auth, /pay and the 3-D Secure challenge page.
        .target(
            name: "PaymentsHTTP",
            dependencies: [
                "PaymentsCore",
                "Payments",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            plugins: ["EmbedOpenAPI"]
        ),
        // Log lines for production: a JSON line handler for swift-log, and the one place that sets up logging.
        .target(name: "PaymentsLogging", dependencies: [.product(name: "Logging", package: "swift-log")]),
        // Builds openapi/openapi.json into PaymentsHTTP, which serves it at GET /openapi.json (see the plugin for why).
        .plugin(name: "EmbedOpenAPI", capability: .buildTool()),
        // The `payments` executable: commands, configuration, the service group.
        // glibc's malloc tuning (<malloc.h>), which Swift's Glibc module does not import.
        .target(name: "CAllocator"),
        // SQLite's write-ahead log, in C (Sources/CSQLiteWAL): a VFS that gathers a transaction's writes to it into
        // one, and its checkpoints run on a thread of their own.
        .target(name: "CSQLiteWAL", linkerSettings: [.linkedLibrary("sqlite3")]),
        .executableTarget(
            name: "PaymentsCLI",
            dependencies: [
                "CAllocator",
                "PaymentsArchive",
                "PaymentsCore",
                "PaymentsPostgres",
                "PaymentsSQLite",
                "PaymentsStore",
                "PaymentsNetwork",
                "Payments",
                "PaymentsHTTP",
                "PaymentsLogging",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "SystemPackage", package: "swift-system"),
            ]
        ),
        .target(
            name: "TestSupport",
            dependencies: [
                "PaymentsCore", "PaymentsStore", "PaymentsNetwork", "Payments", "PaymentsHTTP",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/TestSupport"
        ),
        .testTarget(name: "PaymentsCoreTests", dependencies: ["PaymentsCore"]),
        // The command line's own parts (the recharge job's CSV parser and its checks), through @testable import
        .testTarget(name: "PaymentsCLITests", dependencies: ["PaymentsCLI"]),
        .testTarget(
            name: "PaymentsLoggingTests",
            dependencies: ["PaymentsLogging", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "PaymentsTests",
            dependencies: [
                "PaymentsCore", "PaymentsStore", "PaymentsNetwork", "Payments", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .testTarget(
            name: "PaymentsSQLiteTests",
            dependencies: [
                "CAllocator", "PaymentsSQLite", "TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "PaymentsNetworkTests",
            dependencies: [
                "PaymentsCore", "PaymentsNetwork", "TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "PaymentsStoreTests",
            dependencies: [
                "PaymentsCore", "PaymentsSQLite", "PaymentsStore", "Payments", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"), .product(name: "GRDBSQLite", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "PaymentsHTTPTests",
            dependencies: [
                "Payments", "PaymentsCore", "PaymentsHTTP", "PaymentsNetwork", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        .testTarget(
            name: "PaymentsPostgresTests",
            dependencies: [
                "PaymentsPostgres", "PaymentsStore", "Payments", "PaymentsCore", "PaymentsNetwork", "TestSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "PaymentsArchiveTests",
            dependencies: [
                "PaymentsArchive", "PaymentsPostgres", "PaymentsStore", "Payments", "PaymentsCore", "TestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "PaymentsPostgres", "TestSupport", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ]
        ),
    ]
)
