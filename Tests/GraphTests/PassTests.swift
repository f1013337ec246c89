import Testing
import LowLevel
@testable import Graph

/// Graph passes keep what the graph computes: the inference pass (dropout removed, batch norm
/// folded into the dense or convolution before it) against the graph in evaluation mode.
@Suite struct PassTests {
    static func graph() throws -> (Graph, x: ValueID, y: ValueID) {
        let g = GraphBuilder()
        let x = g.input("x", shape: [2, 6, 6])
        var h = try g.conv2d(x, Conv2DSpec(filters: 3, kernel: (3, 3), padding: (1, 1)), name: "conv0")
        h = try g.relu(try g.batchNorm(h, name: "batchnorm0"))          // folds into conv0
        h = try g.batchNorm(h, name: "batchnorm1")                       // after a ReLU: stays
        h = try g.dropout(try g.flatten(h), rate: 0.5, generator: g.generatorState("generator"))
        h = try g.batchNorm(try g.dense(h, outputs: 5, name: "dense0"), name: "batchnorm2") // folds into dense0
        g.output(h)
        return (try g.build(), x, h)
    }

    @Test func inferenceGraphComputesTheEvaluationPass() throws {
        let (graph, x, y) = try Self.graph()
        let run = try makeExecutor(graph, PlanOptions(.inference, maxBatch: 3))
        var random = SeededRandom(seed: 12)
        var values: TensorValues = [:]
        for id in graph.parameters { fill(run.view(of: id), &random) }
        for id in graph.values(.state) where graph.type(of: id).element == .float32 {
            let name = graph.values[id.index].name
            fill(run.view(of: id), &random, name.hasSuffix("running_var") ? 0.5 : -1, name.hasSuffix("running_var") ? 2 : 1)
        }
        for id in graph.parameters + graph.values(.state) where graph.type(of: id).element == .float32 {
            values[id.index] = Array(run.view(of: id))
        }
        fill(run.view(of: x), &random)
        run.forward()
        let expected = Array(run.view(of: y))

        let (folded, map) = try graph.forInference(values: &values)
        #expect(folded.nodes.filter { $0.op == .batchNorm }.count == 1, "only the batch norm after the ReLU stays")
        #expect(!folded.nodes.contains { $0.op == .dropout })
        let inference = try makeExecutor(folded, PlanOptions(.inference, maxBatch: 3))
        for (old, v) in values { if let id = map[old], folded.values[id.index].role != .activation { _ = inference.view(of: id).update(fromContentsOf: v) } }
        _ = inference.view(of: map[x.index]!).update(fromContentsOf: run.view(of: x))
        inference.forward()
        let got = Array(inference.view(of: folded.outputs[0]))
        for (a, b) in zip(got, expected) { #expect(abs(a - b) <= 1e-5 * max(1, abs(b)), "\(a) vs \(b)") }
        #expect(inference.plan.totalBytes < run.plan.totalBytes)
    }
}
