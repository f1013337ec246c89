import Testing
import Foundation
import Arena
import Graph
import Infer
import InferC
import LowLevel
import ModelFile
import Training

/// A version-1 network file read as a linear graph with its weights in place: it computes what the
/// C runtime computes, and its inference plan needs no more arena than the runtime does today.
@Suite struct VersionOneGraphTests {
    static func check(_ model: TrainedOnSample) throws {
        let bytes = try ModelWriter.encode(network: model.run.network, inputShape: (1, 28, 28), inputEncoding: .floats, version: 1)
        try bytes.withUnsafeBytes { raw throws in
            let file = try ModelFile(base: raw.baseAddress!, length: raw.count)
            let v1 = try VersionOneGraph(file)
            let options = v1.inferenceOptions(maxBatch: 1)
            let plan = try MemoryPlan(graph: v1.graph, options: options)
            #expect(plan.bytes(.weights) == 0, "weights stay in the file")
            #expect(plan.totalBytes <= RuntimeModel.arenaBytes(for: file),
                    "graph plan \(plan.totalBytes) bytes against the runtime's \(RuntimeModel.arenaBytes(for: file))")
            let arena = try ArenaAllocator(capacity: plan.totalBytes)
            let run = try GraphExecutor(graph: v1.graph, options: options, arena: arena)
            for (value, tensor) in v1.weights { run.bind(value, to: file.floats(tensor)) }
            let opened = try OpenModel(bytes)
            for i in 0..<20 {
                var input = testInput(model.test, i)
                try input.withUnsafeMutableBufferPointer { x in
                    run.bind(v1.input, to: x.baseAddress!)
                    run.forward()
                    var probabilities = Array(run.view(of: v1.output))
                    Kernels.softmaxRows(probabilities, into: &probabilities, rows: 1, columns: probabilities.count)
                    let (status, expected) = opened.run(Array(x))
                    #expect(status == 0)
                    for (a, b) in zip(probabilities, expected) { #expect(abs(a - b) <= 1e-6, "digit \(i): \(a) vs \(b)") }
                    _ = try #require(probabilities.count == 10 ? probabilities : nil)
                }
            }
        }
    }

    @Test func mlp() throws { try Self.check(TrainedModel.shared) }
    @Test func leNet() throws { try Self.check(TrainedLeNet.shared) }

    /// The classic layers read as graph ops (kernel, pairwise vote, nearest neighbours) compute
    /// what the C runtime computes, bit for bit.
    @Test func classicLayersRunAsGraphOps() throws {
        let models: [[ModelStage]] = [
            [.affine(scale: [2, 1], shift: [0, -1]),
             .kernel(.gaussian(sigma: 2), points: [0, 0, 1, 0, 0, 1], count: 3, dimension: 2),
             .dense(weight: [1, 1, 0, -1, 0, 1, 0, -1, -1], bias: [0, 0, 0.1], inputs: 3, outputs: 3),
             .pairwiseVote(classes: 3)],
            [.kernel(.polynomial(degree: 2), points: [0, 1, 1, 0], count: 2, dimension: 2)],
            [.nearestNeighbours(points: [0, 0, 1, 0, 5, 5, 1, 1], targets: [0, 1, 2, 1], count: 4, dimension: 2, k: 3, metric: .l1,
                                mode: .classify(classes: 3))],
            [.nearestNeighbours(points: [0, 0, 1, 0, 5, 5, 1, 1], targets: [0.5, 1, 2, 1], count: 4, dimension: 2, k: 2, metric: .cosine,
                                mode: .regress)],
            [.nearestNeighbours(points: [0, 0, 1, 0, 5, 5, 1, 1], targets: [0.5, 1, 2, 1], count: 4, dimension: 2, k: 1, metric: .l2,
                                mode: .kernelSmoothing(.laplace(sigma: 1)))],
            [.nearestNeighbours(points: [0, 0, 1, 0, 5, 5, 1, 1, 2, 3], targets: [0.5, 1, 2, 1, 0], count: 5, dimension: 2, k: 1,
                                metric: .l2, mode: .localLinear(sigma: 4))],
        ]
        for stages in models {
            let bytes = try ModelWriter.encode(stages: stages, description: .init(inputShape: (1, 1, 2), outputKind: .scores,
                                                                                  inputEncoding: .floats), version: 1)
            let opened = try OpenModel(bytes)
            try bytes.withUnsafeBytes { raw throws in
                let file = try ModelFile(base: raw.baseAddress!, length: raw.count)
                let v1 = try VersionOneGraph(file)
                let options = v1.inferenceOptions(maxBatch: 1)
                let run = try GraphExecutor(graph: v1.graph, options: options,
                                            arena: try ArenaAllocator(capacity: try GraphExecutor.arenaBytes(graph: v1.graph, options: options)))
                for (value, tensor) in v1.weights { run.bind(value, to: file.floats(tensor)) }
                for point in [[0.2, 0.7], [3, 1], [-1, 0.5]] as [[Float]] {
                    var x = point
                    x.withUnsafeMutableBufferPointer { run.bind(v1.input, to: $0.baseAddress!); run.forward() }
                    let expected = opened.run(point)
                    #expect(expected.status == 0)
                    #expect(Array(run.view(of: v1.output)).map(\.bitPattern) == expected.output.map(\.bitPattern),
                            "\(stages.last!) at \(point)")
                }
            }
        }
    }
}
