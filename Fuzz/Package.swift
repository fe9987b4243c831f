// swift-tools-version:6.0
import PackageDescription

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
                .product(name: "P22PWire", package: "main"),
                .product(name: "NIOCore", package: "swift-nio"),
            ],
            // libFuzzer brings its own main().
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]
        ),
    ]
)
