// swift-tools-version:6.0
import Foundation
import PackageDescription

// SwiftPM names a path dependency after its directory, which is whatever the
// checkout is called; read it rather than assume it.
let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().lastPathComponent.lowercased()

// libFuzzer harnesses, kept out of the main package so that `swift build` and
// `swift test` never need the fuzzer runtime. See Fuzz/README.md.
let package = Package(
    name: "p22p-fuzz",
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.3"),
    ],
    targets: [
        .executableTarget(
            name: "frame-fuzz",
            dependencies: [
                .product(name: "P22PWire", package: root),
                .product(name: "P22PTransport", package: root),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            // libFuzzer brings its own main().
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
