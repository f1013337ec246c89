import LowLevel
@_exported import TestSupport
import Foundation
import Arena
import Training
import ModelFile
import MNIST
import Graph

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

/// A graph executor in an arena of exactly its planned size, OpenBLAS on one thread.
func makeTrainingExecutor(_ graph: Graph, _ options: PlanOptions) throws -> GraphExecutor {
    BLAS.configure(threads: 1)
    let arena = try ArenaAllocator(capacity: try GraphExecutor.arenaBytes(graph: graph, options: options))
    return try GraphExecutor(graph: graph, options: options, arena: arena)
}
