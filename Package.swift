// swift-tools-version: 6.1
import PackageDescription
import Foundation

// Code generation for the SIMD kernels. By default a build targets the CPU it runs on
// (`-march=native`: AVX-512 on Xeons and Zen 4, AVX2 on Zen 3), so `swift build -c release` gets the
// machine's full vector width. Such a binary may not run on an older CPU; for one that runs on any
// x86-64 CPU made since about 2015 (AVX2 + FMA), build with `INFER_MARCH=x86-64-v3`. Any other
// `-march` value works too. SwiftPM re-reads this manifest when the variable changes. On other
// architectures the compiler's default is kept.
let march = ProcessInfo.processInfo.environment["INFER_MARCH"].flatMap { $0.isEmpty ? nil : $0 } ?? "native"
#if arch(x86_64)
let vectorFlags: [String] = ["-Xcc", "-march=\(march)"]
#else
let vectorFlags: [String] = []
#endif

// Whether that target has AVX-512's 32 vector registers: kernels then keep more accumulators in
// registers (`#if WIDE_VECTOR_REGISTERS`). With 16 (AVX2), the same blocking would spill.
#if arch(x86_64)
let wideVectorRegisters: Bool = {
    if march == "native" {
        let cpuinfo = (try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8)) ?? ""
        return cpuinfo.contains(" avx512f")
    }
    return ["x86-64-v4", "skylake-avx512", "cascadelake", "cooperlake", "icelake-server", "icelake-client", "tigerlake",
            "sapphirerapids", "emeraldrapids", "graniterapids", "znver4", "znver5"].contains(march)
}()
#else
let wideVectorRegisters = false
#endif

// Kernels are 100-1000x slower unoptimised, so the numeric modules are optimised in debug builds too.
let numericSettings: [SwiftSetting] = [
    .unsafeFlags(vectorFlags),
    .unsafeFlags(["-O"], .when(configuration: .debug)),
] + (wideVectorRegisters ? [.define("WIDE_VECTOR_REGISTERS")] : [])

let package = Package(
    name: "infer",
    platforms: [.macOS(.v15)],
    products: [
        .library(name: "Infer", targets: ["Infer"]),
        .library(name: "Training", targets: ["Training"]),
        .library(name: "ModelFile", targets: ["ModelFile"]),
        .library(name: "InferTools", targets: ["InferTools"]),
        // The C library: include/infer.h over libinfer.so.
        .library(name: "infer", type: .dynamic, targets: ["InferC"]),
        // The same library as an archive (scripts/install.sh installs it as libinfer.a).
        .library(name: "infer_static", type: .static, targets: ["InferC"]),
        .library(name: "Arena", targets: ["Arena"]),
        .library(name: "Classic", targets: ["Classic", "KernelMachines"]),
        .library(name: "LowLevel", targets: ["LowLevel"]),
        .library(name: "Graph", targets: ["Graph"]),
        .executable(name: "train", targets: ["train"]),
        .executable(name: "export-tool", targets: ["export-tool"]),
        .executable(name: "sample", targets: ["sample"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        // ONNX files are protobuf; the message code is generated once (scripts/generate-onnx-messages.sh)
        // with this exact version's plugin and committed.
        .package(url: "https://github.com/apple/swift-protobuf", exact: "1.39.0"),
    ],
    targets: [
        // System libraries.
        .systemLibrary(name: "COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        // cairo draws the training curves and confusion matrices; only the tools link it, never libinfer.
        .systemLibrary(name: "CCairo", pkgConfig: "cairo", providers: [.apt(["libcairo2-dev"])]),

        // libpng behind a small C wrapper that owns setjmp and the memory hooks.
        .target(name: "CPNG", linkerSettings: [.linkedLibrary("png16"), .linkedLibrary("z")]),

        // Thread-local error text for the C interface.
        .target(name: "CRuntimeSupport"),

        // Memory and kernels.
        .target(name: "Arena", swiftSettings: numericSettings),
        .target(name: "CPUControl"),
        .target(name: "LowLevel", dependencies: ["COpenBLAS", "CPUControl"], swiftSettings: numericSettings),

        // Static op graphs: values, nodes, one file per op (forward and backward side by side), the
        // memory planner and the executor.
        .target(name: "Graph", dependencies: ["Arena", "LowLevel"], swiftSettings: numericSettings),

        // Data sets (MNIST IDX, gzipped or not).
        .target(name: "MNIST", dependencies: ["CZlib"], swiftSettings: numericSettings),

        // The model file: format, validating reader, writer; status codes and error text.
        .target(name: "ModelFile", dependencies: ["Arena", "LowLevel", "CZlib", "CRuntimeSupport"], swiftSettings: numericSettings),

        // Training: networks as graphs, losses, optimizers, schedules, the trainer, data sets.
        .target(name: "Training", dependencies: ["Arena", "LowLevel", "Graph", "ModelFile", "MNIST"], swiftSettings: numericSettings),

        // Generative models: GANs (and later flows and diffusion), their trainers and model files.
        .target(name: "Generative", dependencies: ["Arena", "LowLevel", "Graph", "ModelFile", "Training", "Classic"], swiftSettings: numericSettings),

        // The inference runtime: a model file run in caller memory, PNG input, the classic models'
        // inference ops.
        .target(name: "Infer", dependencies: ["Arena", "LowLevel", "ModelFile", "CPNG", "CRuntimeSupport"],
                swiftSettings: numericSettings),

        // The classic models of the course: perceptron, least squares, logistic and softmax
        // regression, linear SVMs, k-nearest neighbours; data sets and standardisation.
        .target(name: "Classic", dependencies: ["Infer", "Training", "ModelFile", "Arena", "LowLevel", "MNIST", "COpenBLAS"],
                swiftSettings: numericSettings),
        // Kernel machines: SMO for the SVM dual, kernel ridge and kernel logistic regression.
        .target(name: "KernelMachines", dependencies: ["Classic", "Infer", "Training", "ModelFile", "Arena", "LowLevel", "COpenBLAS"],
                swiftSettings: numericSettings),

        // What needs Foundation (JSON): training runs with checkpoints, safetensors import. Kept out
        // of Infer so the C library does not load Foundation (about 7 ms of start-up).
        .target(name: "InferTools", dependencies: ["Infer", "Training", "Generative", "ModelFile", "Arena", "LowLevel", "CZlib"], swiftSettings: numericSettings),

        // Figures as PNG files: line charts of training curves, confusion matrices (cairo).
        .target(name: "Plots", dependencies: ["CCairo"]),

        // ONNX in and out: an ONNX graph imported as a model file, a model file's graph written as ONNX.
        // A tool's module: libinfer never links protobuf.
        .target(name: "ONNX", dependencies: ["Graph", "ModelFile", "Training", "LowLevel", .product(name: "SwiftProtobuf", package: "swift-protobuf")],
                exclude: ["onnx-subset.proto"]),

        // The C interface (include/infer.h), exported with @_cdecl.
        .target(name: "InferC", dependencies: ["Infer", "ModelFile", "LowLevel"], swiftSettings: numericSettings),

        // Command-line tools.
        .executableTarget(name: "train",
                          dependencies: ["Infer", "Training", "ModelFile", "InferTools", "MNIST", "LowLevel", "Arena", "Classic", "KernelMachines",
                                         "Generative", "Graph", "Plots", .product(name: "ArgumentParser", package: "swift-argument-parser")],
                          resources: [.copy("Resources/mnist-sample"), .copy("Resources/small")]),
        .executableTarget(name: "sample",
                          dependencies: ["Infer", "ModelFile", "CPNG", "Generative", "MNIST", .product(name: "ArgumentParser", package: "swift-argument-parser")]),
        .executableTarget(name: "export-tool",
                          dependencies: ["Infer", "Training", "ModelFile", "Graph", "InferTools", "InferC", "MNIST", "Arena", "Classic", "Plots", "ONNX",
                                         .product(name: "ArgumentParser", package: "swift-argument-parser")]),

        // Test support: counts malloc calls on the calling thread.
        .target(name: "MallocCounter"),

        // Test support: runs the built command-line tools.
        .target(name: "ToolRunner", path: "Tests/ToolRunner"),
        // Test support: data paths and a seeded generator, shared by every test target.
        .target(name: "TestSupport", path: "Tests/TestSupport"),

        .testTarget(name: "ArenaTests", dependencies: ["Arena"]),
        .testTarget(name: "ONNXTests", dependencies: ["TestSupport", "ONNX", "ModelFile", "InferC", "Graph", "Training", "Arena", "LowLevel", "ToolRunner", .product(name: "SwiftProtobuf", package: "swift-protobuf")]),
        .testTarget(name: "PlotsTests", dependencies: ["TestSupport", "Plots", "CPNG", "ToolRunner"]),
        .testTarget(name: "GraphTests", dependencies: ["TestSupport", "Graph", "Arena", "LowLevel", "MNIST", "MallocCounter"]),
        .testTarget(name: "LowLevelTests", dependencies: ["TestSupport", "LowLevel", "Arena", "MallocCounter"]),
        .testTarget(name: "TrainingTests", dependencies: ["TestSupport", "Training", "Graph", "ModelFile", "InferTools", "MNIST", "Arena", "LowLevel", "MallocCounter", "ToolRunner"]),
        .testTarget(name: "ClassicTests", dependencies: ["TestSupport", "Classic", "KernelMachines", "Infer", "Training", "ModelFile", "InferC", "Arena", "LowLevel", "MNIST", "MallocCounter", "ToolRunner"]),
        .testTarget(name: "KernelMachineTests", dependencies: ["TestSupport", "KernelMachines", "Classic", "Infer", "Training", "ModelFile", "Arena", "LowLevel", "MNIST", "MallocCounter"]),
        .testTarget(name: "GenerativeTests", dependencies: ["TestSupport", "Generative", "InferTools", "Training", "Graph", "Infer", "InferC", "ModelFile", "Arena", "LowLevel", "MallocCounter", "CPNG", "CZlib"]),
        .testTarget(name: "RuntimeTests", dependencies: ["TestSupport", "Infer", "Training", "ModelFile", "InferTools", "InferC", "MNIST", "Arena", "LowLevel", "MallocCounter", "CZlib", "ToolRunner"]),
    ]
)
