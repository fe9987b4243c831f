// swift-tools-version:6.0
import PackageDescription

// A floor for round trips through SwiftNIO processes: `nio-hop` forwards TCP
// from one port to another with nothing else (no framing, no crypto), so a
// chain of three of them shows what three NIO processes cost before p22p
// adds anything. Kept out of the main package: it is a measuring stick, not
// part of p22p. See benchmarks/README.md ("round-trip floor").
let package = Package(
    name: "nio-floor",
    dependencies: [
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
    ],
    targets: [
        .executableTarget(
            name: "nio-hop",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ]
        ),
    ]
)
