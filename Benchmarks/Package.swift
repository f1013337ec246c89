// swift-tools-version: 6.1
// Benchmarks live in their own package so the root package's `swift test` does not build the
// benchmark framework. Run from this directory: `swift package benchmark` (see README.md).
import PackageDescription
import Foundation

// SwiftPM names a path dependency after its folder, which depends on where the project was cloned.
let rootIdentity = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .lastPathComponent.lowercased()

let package = Package(
    name: "InferBenchmarks",
    platforms: [.macOS(.v15)],
    dependencies: [
        .package(path: ".."),
        .package(url: "https://github.com/ordo-one/benchmark", from: "1.38.1", traits: ["MallocInterposer"]),
    ],
    targets: [
        .executableTarget(
            name: "MLPTraining",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Infer", package: rootIdentity),
                .product(name: "Training", package: rootIdentity),
                .product(name: "ModelFile", package: rootIdentity),
                .product(name: "InferTools", package: rootIdentity),
            ],
            path: "Benchmarks/MLPTraining",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
        .executableTarget(
            name: "Convolution",
            dependencies: [
                .product(name: "Benchmark", package: "benchmark"),
                .product(name: "Graph", package: rootIdentity),
                .product(name: "Arena", package: rootIdentity),
                .product(name: "LowLevel", package: rootIdentity),
            ],
            path: "Benchmarks/Convolution",
            plugins: [.plugin(name: "BenchmarkPlugin", package: "benchmark")]
        ),
    ]
)
