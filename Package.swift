// swift-tools-version: 6.1
import PackageDescription

let swiftSettings: [SwiftSetting] = [
  .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
  name: "Switchboard",
  platforms: [.macOS(.v15)],
  products: [
    .executable(name: "switchboardd", targets: ["switchboardd"]),
    .executable(name: "switchboard", targets: ["switchboard"]),
    .executable(name: "fake-provider", targets: ["fake-provider"]),
    .library(name: "SwitchboardCore", targets: ["SwitchboardCore"]),
    .library(name: "SwitchboardSimulation", targets: ["SwitchboardSimulation"]),
    .library(name: "SwitchboardWire", targets: ["SwitchboardWire"]),
    .library(name: "SwitchboardClient", targets: ["SwitchboardClient"]),
    // The daemon as a library: build your own daemon binary with custom strategies.
    .library(name: "SwitchboardDaemon", targets: ["SwitchboardDaemon"]),
  ],
  dependencies: [
    .package(url: "https://github.com/apple/swift-nio", from: "2.101.3"),
    .package(url: "https://github.com/apple/swift-protobuf", from: "1.39.0"),
    .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
    // TLS for the lean provider client (already in the graph through AsyncHTTPClient).
    .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
    .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
    .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
    .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
    .package(url: "https://github.com/jpsim/Yams", from: "6.2.2"),
    // The OpenAI-compatible HTTP endpoint. Default traits off: no swift-configuration.
    .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1", traits: []),
    .package(url: "https://github.com/apple/swift-async-algorithms", from: "1.1.4"),
    .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
    // The fleet's shared spend ledger on PostgreSQL (SwitchboardFleet).
    .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
    // Tracing: the API and the OTLP/HTTP exporter (no gRPC trait: no grpc-swift).
    .package(url: "https://github.com/apple/swift-distributed-tracing", from: "1.7.3"),
    .package(url: "https://github.com/swift-otel/swift-otel", from: "1.6.0", traits: ["OTLPHTTP"]),
  ],
  targets: [
    // Pure routing core: no I/O.
    .target(
      name: "SwitchboardCore",
      dependencies: [.product(name: "Logging", package: "swift-log")],
      swiftSettings: swiftSettings
    ),
    // Simulated providers, the virtual-time driver and the chaos drills (no I/O).
    .target(
      name: "SwitchboardSimulation",
      dependencies: ["SwitchboardCore"],
      swiftSettings: swiftSettings
    ),
    // Generated protobuf code, frame codec, Unix socket server.
    .target(
      name: "SwitchboardWire",
      dependencies: [
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    // Swift client over the socket (used by the CLI and the tests).
    .target(
      name: "SwitchboardClient",
      dependencies: [
        "SwitchboardWire",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
      ],
      swiftSettings: swiftSettings
    ),
    // HTTP provider adapters, model catalog.
    .target(
      name: "SwitchboardProviders",
      dependencies: [
        "SwitchboardCore",
        .product(name: "AsyncHTTPClient", package: "async-http-client"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "NIOTLS", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
      ],
      resources: [.copy("Resources/catalog.json")],
      swiftSettings: swiftSettings
    ),
    // SQLite decision store and spend ledger.
    .target(
      name: "SwitchboardAudit",
      dependencies: [
        "SwitchboardCore",
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    // The spend ledger's own store (SQLite by default; PostgreSQL for a fleet later).
    .target(
      name: "SwitchboardState",
      dependencies: [
        "SwitchboardCore",
        .product(name: "GRDB", package: "GRDB.swift"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    // A fleet of sidecars sharing one spend ledger on PostgreSQL (shared health and audit: not yet).
    .target(
      name: "SwitchboardFleet",
      dependencies: [
        "SwitchboardCore",
        .product(name: "PostgresNIO", package: "postgres-nio"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: swiftSettings
    ),
    // The daemon as a library: config, service wiring, request handling, metrics.
    .target(
      name: "SwitchboardDaemon",
      dependencies: [
        "SwitchboardCore", "SwitchboardSimulation", "SwitchboardWire", "SwitchboardProviders", "SwitchboardAudit",
        "SwitchboardState", "SwitchboardFleet",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
        .product(name: "Yams", package: "Yams"),
        .product(name: "Tracing", package: "swift-distributed-tracing"),
        .product(name: "OTel", package: "swift-otel"),
      ],
      swiftSettings: swiftSettings
    ),
    // The OpenAI-compatible HTTP endpoint (Hummingbird 2) over the daemon's router.
    .target(
      name: "SwitchboardHTTP",
      dependencies: [
        "SwitchboardDaemon", "SwitchboardCore", "SwitchboardWire",
        .product(name: "Hummingbird", package: "hummingbird"),
        .product(name: "HummingbirdCore", package: "hummingbird"),
        .product(name: "HTTPTypes", package: "swift-http-types"),
        .product(name: "AsyncAlgorithms", package: "swift-async-algorithms"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "Logging", package: "swift-log"),
        .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
      ],
      swiftSettings: swiftSettings
    ),
    .executableTarget(
      name: "switchboardd",
      dependencies: [
        "SwitchboardDaemon", "SwitchboardHTTP",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: swiftSettings
    ),
    .executableTarget(
      name: "switchboard",
      dependencies: [
        "SwitchboardDaemon", "SwitchboardClient", "SwitchboardWire", "SwitchboardCore", "SwitchboardAudit",
        "SwitchboardSimulation", "SwitchboardFleet", "SwitchboardState",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    // A worked example of a user-built daemon with a custom strategy (tested).
    .executableTarget(
      name: "example-strategy-daemon",
      dependencies: [
        "SwitchboardDaemon", "SwitchboardCore",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: swiftSettings
    ),
    // Test helpers: the fake provider HTTP server.
    .target(
      name: "SwitchboardTestKit",
      dependencies: [
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
        .product(name: "NIOSSL", package: "swift-nio-ssl"),
        .product(name: "NIOTLS", package: "swift-nio"),
      ],
      swiftSettings: swiftSettings
    ),
    .executableTarget(
      name: "fake-provider",
      dependencies: [
        "SwitchboardTestKit",
        .product(name: "ArgumentParser", package: "swift-argument-parser"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "SwitchboardCoreTests",
      dependencies: ["SwitchboardCore", "SwitchboardSimulation"],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "SwitchboardSimulationTests",
      dependencies: ["SwitchboardSimulation", "SwitchboardCore"],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "SwitchboardWireTests",
      dependencies: [
        "SwitchboardWire",
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOTestUtils", package: "swift-nio"),
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "SwitchboardProvidersTests",
      dependencies: ["SwitchboardProviders", "SwitchboardCore", "SwitchboardTestKit",
                     .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio")],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "SwitchboardAuditTests",
      dependencies: ["SwitchboardAudit", "SwitchboardCore"],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "SwitchboardStateTests",
      dependencies: ["SwitchboardState", "SwitchboardCore"],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "SwitchboardFleetTests",
      dependencies: [
        "SwitchboardFleet", "SwitchboardCore", "SwitchboardTestKit",
        .product(name: "Logging", package: "swift-log"),
      ],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "SwitchboardHTTPTests",
      dependencies: ["SwitchboardHTTP", "SwitchboardDaemon", "SwitchboardCore"],
      swiftSettings: swiftSettings
    ),
    .testTarget(
      name: "SwitchboardDaemonTests",
      dependencies: [
        "SwitchboardDaemon", "SwitchboardClient", "SwitchboardWire", "SwitchboardCore",
        "SwitchboardTestKit", "SwitchboardFleet",
        .product(name: "SwiftProtobuf", package: "swift-protobuf"),
        .product(name: "NIOCore", package: "swift-nio"),
        .product(name: "NIOPosix", package: "swift-nio"),
        .product(name: "NIOHTTP1", package: "swift-nio"),
      ],
      exclude: ["Drivers"],
      swiftSettings: swiftSettings
    ),
  ]
)
