// swift-tools-version:6.2
import PackageDescription

let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
    .enableUpcomingFeature("InternalImportsByDefault"),
]

/// The decision and feedback paths (plugin host, plugins, engine, HTTP server)
/// run hot loops over class-held state, and on Linux every dynamic exclusivity
/// check costs a thread-local lookup in libswiftCore (about half of the ABI
/// path's overhead, measured). Release builds of those modules drop the
/// checks; debug builds, which the tests run, keep them and catch any violation.
let hotPathSwiftSettings = swiftSettings + [
    .unsafeFlags(["-enforce-exclusivity=unchecked"], .when(configuration: .release)),
]

/// A first-party strategy, in its folder under Sources/Strategies: the
/// implementation (a Swift module) and, in `Plugin/`, the entry point that makes
/// it a dynamic library behind the C ABI. Nothing of the host is linked in.
func strategy(_ name: String, folder: String) -> [Target] {
    [
        .target(
            name: name + "Strategy",
            dependencies: ["ArbiterStrategyKit"],
            path: "Sources/Strategies/\(folder)",
            exclude: ["Plugin"],
            swiftSettings: hotPathSwiftSettings
        ),
        .target(
            name: name + "Plugin",
            dependencies: [.target(name: "\(name)Strategy"), "ArbiterStrategyKit", "ArbiterABI"],
            path: "Sources/Strategies/\(folder)/Plugin",
            swiftSettings: hotPathSwiftSettings
        ),
    ]
}

let package = Package(
    name: "arbiter",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "arbiter", targets: ["Arbiter"]),
        .executable(name: "arbiter-bench", targets: ["ArbiterBench"]),
        .library(name: "ArbiterThompson", type: .dynamic, targets: ["ThompsonPlugin"]),
        .library(name: "ArbiterEpsilonGreedy", type: .dynamic, targets: ["EpsilonGreedyPlugin"]),
        .library(name: "ArbiterUCB", type: .dynamic, targets: ["UCBPlugin"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        // Without its default traits Hummingbird builds on FoundationEssentials
        // alone, which keeps full Foundation (and ICU) out of the server.
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1", traits: []),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/apple/swift-http-types.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", from: "3.12.3"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
    ],
    targets: [
        // The plugin SDK: the public C header, and the Swift kit first-party
        // strategies are written with.
        .target(name: "ArbiterABI", path: "Plugins/SDK", publicHeadersPath: "include"),
        .target(
            name: "ArbiterStrategyKit",
            dependencies: ["ArbiterABI"],
            path: "Plugins/SwiftKit",
            swiftSettings: hotPathSwiftSettings
        ),

        // First-party strategies, one dynamic library each.
    ] + strategy("Thompson", folder: "Thompson")
      + strategy("EpsilonGreedy", folder: "EpsilonGreedy")
      + strategy("UCB", folder: "UCB") + [

        // The host.
        .target(
            name: "JSON",
            path: "Sources/Host/JSON",
            swiftSettings: hotPathSwiftSettings
        ),
        .target(
            name: "PluginHost",
            dependencies: [
                "ArbiterABI", "JSON", .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            path: "Sources/Host/PluginHost",
            swiftSettings: hotPathSwiftSettings
        ),
        .systemLibrary(
            name: "CSQLite",
            path: "Sources/Host/CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        .target(
            name: "SQLite",
            dependencies: ["CSQLite"],
            path: "Sources/Host/SQLite",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Storage",
            dependencies: ["SQLite", "JSON"],
            path: "Sources/Host/Storage",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Engine",
            dependencies: [
                "PluginHost", "Storage", "SQLite", "JSON", "Evaluation", "Plots",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CoreMetrics", package: "swift-metrics"),
            ],
            path: "Sources/Host/Engine",
            swiftSettings: hotPathSwiftSettings
        ),
        .target(
            name: "Access",
            dependencies: ["Storage", .product(name: "Crypto", package: "swift-crypto")],
            path: "Sources/Host/Access",
            swiftSettings: hotPathSwiftSettings
        ),
        .target(
            name: "HTTPServer",
            dependencies: [
                "Engine", "Access", "PluginHost", "Storage", "JSON", "Evaluation",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            path: "Sources/Host/HTTPServer",
            resources: [
                .embedInCode("Resources/openapi.yaml"),
                .embedInCode("Resources/Dashboard/index.html"),
                .embedInCode("Resources/Dashboard/app.js"),
                .embedInCode("Resources/Dashboard/app.css"),
            ],
            swiftSettings: hotPathSwiftSettings
        ),
        // Kafka: librdkafka directly, feedback consumed in micro-batches.
        .systemLibrary(
            name: "CRdKafka",
            path: "Sources/Host/CRdKafka",
            pkgConfig: "rdkafka",
            providers: [.apt(["librdkafka-dev"])]
        ),
        .target(
            name: "Kafka",
            dependencies: [
                "CRdKafka", "Engine", "PluginHost", "Storage", "JSON",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Host/Kafka",
            swiftSettings: swiftSettings
        ),
        // The host assembled from its parts, as services of one lifecycle.
        .target(
            name: "Assembly",
            dependencies: [
                "Engine", "Access", "HTTPServer", "PluginHost", "Storage", "JSON", "Kafka",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ],
            path: "Sources/Host/Assembly",
            swiftSettings: swiftSettings
        ),
        // Off-policy evaluation: strategies replayed on logged decisions.
        .target(
            name: "Evaluation",
            dependencies: ["PluginHost", "JSON"],
            path: "Sources/Host/Evaluation",
            swiftSettings: hotPathSwiftSettings
        ),
        .target(
            name: "Plots",
            dependencies: ["JSON"],
            path: "Sources/Host/Plots",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Simulation",
            dependencies: ["PluginHost", "Evaluation", "JSON", "Plots"],
            path: "Sources/Host/Simulation",
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Arbiter",
            dependencies: [
                "PluginHost",
                "Simulation",
                "Evaluation",
                "Engine",
                "Storage",
                "SQLite",
                "Access",
                "Assembly",
                "HTTPServer",
                "JSON",
                "Plots",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Sources/Host/Arbiter",
            swiftSettings: swiftSettings
        ),

        // Benchmarks: the strategies called directly and through the ABI.
        .executableTarget(
            name: "ArbiterBench",
            dependencies: [
                "PluginHost",
                "ThompsonStrategy",
                "EpsilonGreedyStrategy",
                "UCBStrategy",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks/ArbiterBench",
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "PluginHostTests",
            dependencies: ["PluginHost", "TestSupport"],
            path: "Tests/PluginHostTests",
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StrategyTests",
            dependencies: ["PluginHost", "TestSupport"],
            path: "Tests/StrategyTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "StorageTests",
            dependencies: ["Storage", "SQLite", "TestSupport"],
            path: "Tests/StorageTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EngineTests",
            dependencies: ["Engine", "Storage", "SQLite", "PluginHost", "JSON", "TestSupport"],
            path: "Tests/EngineTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HTTPServerTests",
            dependencies: [
                "HTTPServer", "Assembly", "Engine", "Storage", "SQLite", "Access", "PluginHost", "JSON", "TestSupport", "Kafka",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            path: "Tests/HTTPServerTests",
            exclude: ["Clients"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PlotsTests",
            dependencies: ["Plots", "TestSupport"],
            path: "Tests/PlotsTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "JSONTests",
            dependencies: ["JSON"],
            path: "Tests/JSONTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SimulationTests",
            dependencies: ["Simulation", "PluginHost", "JSON", "TestSupport"],
            path: "Tests/SimulationTests",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EvaluationTests",
            dependencies: ["Evaluation", "Simulation", "PluginHost", "JSON", "TestSupport"],
            path: "Tests/EvaluationTests",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "TestSupport",
            dependencies: ["PluginHost"],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
    ]
)
