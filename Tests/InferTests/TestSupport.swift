import LowLevel
import Foundation
import Arena
import Infer
import Training
import ModelFile
import MNIST

/// The MNIST sample bundled with the train command (1,000 training and 200 test digits).
let sampleDirectory: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Sources/train/Resources/mnist-sample").path
}()

/// The package root (for finding built executables).
let packageRoot: String = {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().path
}()

/// Full MNIST when MNIST_DIR points at it.
let mnistDirectory: String? = ProcessInfo.processInfo.environment["MNIST_DIR"].flatMap { $0.isEmpty ? nil : $0 }

func loadSample() throws -> MNISTDataset { try MNISTDataset(directory: sampleDirectory) }

/// A fresh temporary directory, removed by the caller.
func temporaryDirectory() throws -> String {
    let path = NSTemporaryDirectory() + "infer-tests-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
}

/// Builds a network in an arena of exactly the size its spec asks for.
func makeNetwork(_ spec: NetworkSpec, maxBatch: Int, seed: UInt64) throws -> (Network, ArenaAllocator) {
    let arena = try ArenaAllocator(capacity: spec.arenaBytes(maxBatch: maxBatch))
    var rng = RandomGenerator(seed: seed)
    return (try Network(spec: spec, maxBatch: maxBatch, arena: arena, rng: &rng), arena)
}

/// Deterministic test values in [−scale, scale).
func testValues(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var rng = RandomGenerator(seed: seed)
    return (0..<n).map { _ in (2 * rng.nextUniform() - 1) * scale }
}
