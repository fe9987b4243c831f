// swift-tools-version:6.0
import PackageDescription

// One library per concern: the wire format and the cryptography are pure values
// with no I/O; the relay and the client are the two ends of the network; the
// executables only parse arguments and run one of those. Every target builds
// in Swift 6 language mode (tools version 6.0).
let package = Package(
    name: "p22p",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "p22p-server", targets: ["p22p-server"]),
        .executable(name: "p22p", targets: ["p22p"]),
        .executable(name: "p22p-up", targets: ["p22p-up"]),
        .library(name: "P22PClient", targets: ["P22PClient"]),
        .library(name: "P22PWire", targets: ["P22PWire"]),
        .library(name: "P22PTransport", targets: ["P22PTransport"]),
        .library(name: "P22PRelay", targets: ["P22PRelay"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // Up to the next minor only: P22PCrypto calls its BoringSSL module (AESGCMContext), which is not API.
        .package(url: "https://github.com/apple/swift-crypto.git", .upToNextMinor(from: "3.12.3")),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", from: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/adam-fowler/compress-nio.git", from: "1.5.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
    ],
    targets: [
        .target(
            name: "P22PWire",
            dependencies: [.product(name: "NIOCore", package: "swift-nio")]
        ),
        .target(
            name: "P22PCrypto",
            dependencies: [
                "P22PWire",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
            ]
        ),
        .target(
            name: "P22PTransport",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .target(
            name: "P22PRelay",
            dependencies: [
                "P22PWire",
                "P22PCrypto",
                "P22PTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // Reservations shared by a cluster of relays, in PostgreSQL; only the
        // relay's command line links it.
        .target(
            name: "P22PRelayPostgres",
            dependencies: [
                "P22PRelay",
                "P22PCrypto",
                "P22PTransport",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "P22PClient",
            dependencies: [
                "P22PWire",
                "P22PCrypto",
                "P22PTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "CompressNIO", package: "compress-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
            ]
        ),
        .target(
            name: "P22PProfile",
            dependencies: [
                "P22PClient",
                "P22PCrypto",
                "P22PWire",
                "P22PTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Yams", package: "Yams"),
            ]
        ),
        .target(
            name: "P22PDaemon",
            dependencies: [
                "P22PClient",
                "P22PWire",
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                "P22PCrypto",
                "P22PProfile",
                "P22PRelay",
                "P22PTransport",
                "P22PLogging",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
            ]
        ),
        // libedit (Debian: libedit-dev) for the command loop's line editing.
        .systemLibrary(name: "CLibEdit", pkgConfig: "libedit", providers: [.apt(["libedit-dev"])]),
        .target(
            name: "P22PShell",
            dependencies: [
                "CLibEdit",
                "P22PClient",
                "P22PLogging",
                "P22PCrypto",
                "P22PWire",
                "P22PTransport",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .target(
            name: "P22PLogging",
            dependencies: [.product(name: "Logging", package: "swift-log")]
        ),
        .target(
            name: "P22PCommandLine",
            dependencies: [
                "P22PClient",
                "P22PLogging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ]
        ),
        // The three tools' command lines, as libraries: each executable only
        // calls one, and `p22p` can be all three (see Sources/p22p/main.swift).
        .target(
            name: "P22PServerCLI",
            dependencies: [
                "P22PRelay",
                "P22PRelayPostgres",
                "P22PCommandLine",
                "P22PLogging",
                "P22PTransport",
                "P22PWire",
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "P22PMemberCLI",
            dependencies: [
                "P22PClient",
                "P22PShell",
                "P22PCommandLine",
                "P22PLogging",
                "P22PCrypto",
                "P22PWire",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .target(
            name: "P22PUpCLI",
            dependencies: [
                "P22PDaemon",
                "P22PWire",
                "P22PProfile",
                "P22PCommandLine",
                "P22PLogging",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .executableTarget(name: "p22p-server", dependencies: ["P22PServerCLI"]),
        .executableTarget(name: "p22p-up", dependencies: ["P22PUpCLI"]),
        .executableTarget(name: "p22p", dependencies: ["P22PMemberCLI", "P22PServerCLI", "P22PUpCLI"]),
        .testTarget(
            name: "P22PLoggingTests",
            dependencies: ["P22PLogging", .product(name: "Logging", package: "swift-log")]
        ),
        .testTarget(
            name: "P22PDaemonTests",
            // Yams: `@testable import P22PDaemon` sees its internal imports.
            dependencies: ["P22PDaemon", "P22PClient", .product(name: "Yams", package: "Yams")]
        ),
        .testTarget(
            name: "P22PClientTests",
            dependencies: ["P22PClient", "P22PWire", .product(name: "NIOCore", package: "swift-nio")]
        ),
        .testTarget(
            name: "P22PTransportTests",
            dependencies: [
                "P22PTransport",
                .product(name: "NIOWebSocket", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
            ]
        ),
        .testTarget(name: "P22PWireTests", dependencies: ["P22PWire"]),
        .testTarget(name: "P22PCryptoTests", dependencies: ["P22PCrypto"]),
        .testTarget(
            name: "P22PProfileTests",
            dependencies: ["P22PProfile", "P22PClient", "P22PCrypto", "P22PTransport", .product(name: "Crypto", package: "swift-crypto")]
        ),
        .testTarget(
            name: "P22PRelayTests",
            dependencies: [
                "P22PRelay",
                "P22PCrypto",
                "P22PWire",
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
        .testTarget(
            name: "P22PEndToEndTests",
            dependencies: [
                "P22PRelay",
                "P22PRelayPostgres",
                "P22PDaemon",
                "P22PClient",
                "P22PCrypto",
                "P22PTransport",
                "P22PWire",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]
        ),
    ]
)
