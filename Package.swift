// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "concord",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "concord", targets: ["concord"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.6.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.6.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", from: "2.5.0"),
        .package(url: "https://github.com/swiftlang/swift-subprocess.git", from: "1.0.0"),
        .package(url: "https://github.com/apple/swift-system.git", from: "1.4.0"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "5.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
    ],
    targets: [
        // Pure domain: event envelopes, canonical encoding, chain hashing. No I/O.
        .target(
            name: "ConcordCore",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto")
            ]
        ),
        // The PostgreSQL event log, migrations and the private development cluster.
        .target(
            name: "ConcordStore",
            dependencies: [
                "ConcordCore",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Subprocess", package: "swift-subprocess"),
                .product(name: "SystemPackage", package: "swift-system"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
            ],
            plugins: ["EmbedMigrations"]
        ),
        // Build tool that embeds sql/*.sql into ConcordStore, so a deployed binary needs no checkout.
        .executableTarget(name: "EmbedSQL"),
        .plugin(name: "EmbedMigrations", capability: .buildTool(), dependencies: ["EmbedSQL"]),
        // Projections of the log: per-programme queues, loop status, overdue escalation, indicators; rebuilds.
        .target(
            name: "ConcordProjections",
            dependencies: [
                "ConcordCore",
                "ConcordStore",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ]
        ),
        // Random but legal workloads (reference data and cases through every command) for tests and benchmarks.
        .target(name: "ConcordWorkload", dependencies: ["ConcordCore", "ConcordStore"]),
        // The web workspace's rendering: embedded mustache templates, locale strings, CSS; no routes, no I/O.
        .target(
            name: "ConcordWeb",
            dependencies: ["ConcordCore", .product(name: "Mustache", package: "swift-mustache")],
            plugins: ["EmbedMigrations"]
        ),
        // Reaching people: the outbox derived from the log, its sender and retry loop, SMS gateways, the SMS grammar.
        .target(
            name: "ConcordOutbox",
            dependencies: [
                "ConcordCore", "ConcordStore", "ConcordWeb",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // What partner systems receive: signed webhooks (subscriptions, CloudEvents, the leased dispatcher), the case
        // events a reader may see (also the event stream), and referrals as FHIR Tasks.
        .target(
            name: "ConcordPartners",
            dependencies: [
                "ConcordCore", "ConcordStore", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // The Hummingbird application, built by `buildApplication(...)`.
        .target(
            name: "ConcordHTTP",
            dependencies: [
                "ConcordCore",
                "ConcordStore",
                "ConcordProjections",
                "ConcordWeb",
                "ConcordOutbox",
                "ConcordPartners",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            plugins: ["EmbedMigrations"]
        ),
        .executableTarget(
            name: "concord",
            dependencies: [
                "ConcordCore",
                "ConcordStore",
                "ConcordHTTP",
                "ConcordOutbox",
                "ConcordProjections",
                "ConcordWorkload",
                "ConcordPartners",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Test helpers shared by the integration suites: a migrated template database, one fresh copy per test.
        .target(
            name: "ConcordTestSupport",
            dependencies: [
                "ConcordStore", "ConcordHTTP", "ConcordWorkload", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Subprocess", package: "swift-subprocess"),
            ],
            path: "Tests/ConcordTestSupport"
        ),
        .testTarget(
            name: "ConcordCoreTests",
            dependencies: [
                "ConcordCore", "ConcordTestSupport", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Yams", package: "Yams"),
            ]),
        .testTarget(name: "ConcordStoreTests", dependencies: ["ConcordStore", "ConcordTestSupport"]),
        .testTarget(
            name: "ConcordProjectionsTests",
            dependencies: [
                "ConcordProjections", "ConcordWorkload", "ConcordTestSupport",
                .product(name: "MetricsTestKit", package: "swift-metrics"),
            ]
        ),
        .testTarget(
            name: "ConcordHTTPTests",
            dependencies: [
                "ConcordHTTP", "ConcordTestSupport",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]
        ),
    ],
    swiftLanguageModes: [.v6]
)
