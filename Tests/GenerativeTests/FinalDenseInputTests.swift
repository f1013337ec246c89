import Testing
import Graph
import Infer
import ModelFile
import Training

/// `sample --score` reads a classifier's features as the input of its final dense step.
@Suite struct FinalDenseInputTests {
    @Test func theFeaturesAreTheLastHiddenLayer() throws {
        let g = GraphBuilder()
        let x = g.input("x", shape: [3])
        let hidden = try g.relu(try g.dense(x, outputs: 2, name: "fc1"))
        let y = try g.dense(hidden, outputs: 2, name: "fc2")
        g.output(y)
        let graph = try g.build()
        var values: TensorValues = [:]
        for id in graph.parameters {
            switch graph.values[id.index].name {
            case "fc1.weight": values[id.index] = [1, 0, 0, 1, -1, 1] // [3, 2]
            case "fc1.bias": values[id.index] = [0, 0.5]
            default: values[id.index] = Array(repeating: 0.25, count: graph.type(of: id).elementsPerSample)
            }
        }
        let bytes = try ModelWriter.encodeGraph(graph, values: values, description: ModelWriter.Description(
            inputShape: (1, 1, 3), outputKind: .probabilities, inputEncoding: .floats))
        try bytes.withUnsafeBytes { raw in
            let file = try ModelFile(base: raw.baseAddress!, length: raw.count)
            let arena = UnsafeMutableRawPointer.allocate(byteCount: RuntimeModel.arenaBytes(for: file), alignment: 64)
            defer { arena.deallocate() }
            let model = try RuntimeModel.open(file, arena: arena, length: RuntimeModel.arenaBytes(for: file))
            _ = [Float]([1, 2, 3]).withUnsafeBufferPointer { model.pointee.run($0.baseAddress!) }
            let features = try #require(model.pointee.finalDenseInput)
            // relu(x·W + b): (1 − 3, 2 + 3 + 0.5) → (0, 5.5)
            #expect(features.count == 2)
            #expect(Array(UnsafeBufferPointer(start: features.values, count: 2)) == [0, 5.5])
        }
    }
}
