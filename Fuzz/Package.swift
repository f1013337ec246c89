// swift-tools-version: 6.1
// libFuzzer target for the C interface's model loader and PNG path. A package of its own because
// its executable has no main of its own (libFuzzer supplies it), so it only links when built with
// --sanitize fuzzer. Run it through scripts/fuzz.sh.
import PackageDescription
import Foundation

// SwiftPM names a path dependency after its folder, which depends on where the project was cloned.
let rootIdentity = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

let package = Package(
    name: "InferFuzz",
    platforms: [.macOS(.v15)],
    dependencies: [.package(path: "..")],
    targets: [
        .executableTarget(
            name: "fuzz",
            dependencies: [.product(name: "infer", package: rootIdentity),
                           // To build the PNG target's model.
                           .product(name: "Training", package: rootIdentity), .product(name: "ModelFile", package: rootIdentity),
                           .product(name: "LowLevel", package: rootIdentity), .product(name: "Arena", package: rootIdentity),
                           // To build the version-2 seeds.
                           .product(name: "Graph", package: rootIdentity)],
            path: "Sources/fuzz",
            swiftSettings: [.unsafeFlags(["-parse-as-library"])]),
    ]
)
