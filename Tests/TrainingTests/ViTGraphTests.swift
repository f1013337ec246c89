import Testing
import Arena
import Graph
import LowLevel
import Training

/// The vision transformer's graph: its shape and parameters for MNIST, and the gradient of its
/// loss with respect to every kind of parameter and the image against finite differences (the
/// patch embedding's convolution and transpose, positions, a non-causal block, the pooling and
/// the head together).
@Suite struct ViTGraphTests {
    init() { BLAS.configure(threads: 1) }

    @Test func mnistShapeAndParameters() throws {
        let config = ViTConfig()
        let vit = try ViTGraph(config)
        #expect(config.positions == 16)
        #expect(vit.graph.type(of: vit.logits).shape == [10])
        let c = config.features
        let block = 2 * c + (c * 3 * c + 3 * c) + (c * c + c) + 2 * c + (c * 4 * c + 4 * c) + (4 * c * c + c)
        let expected = (c * 49 + c) + 16 * c + config.layers * block + 2 * c + (c * 10 + 10)
        let count = vit.graph.parameters.reduce(0) { $0 + vit.graph.type(of: $1).elementsPerSample }
        #expect(count == expected)
        let inference = try ViTGraph.inference(config)
        #expect(inference.graph.parameters.map { inference.graph.values[$0.index].name }
                == vit.graph.parameters.map { vit.graph.values[$0.index].name })
        var bad = config
        bad.patch = 5
        #expect(throws: GraphError.self) { try ViTGraph(bad) }
    }

    @Test func lossGradientsMatchFiniteDifferences() throws {
        var config = ViTConfig()
        (config.height, config.width, config.patch, config.features, config.heads, config.layers, config.classes) = (8, 8, 4, 8, 2, 1, 3)
        let vit = try ViTGraph(config)
        let options = PlanOptions(.training, maxBatch: 2, seeds: [vit.loss], keep: [vit.images])
        let arena = try ArenaAllocator(capacity: try GraphExecutor.arenaBytes(graph: vit.graph, options: options))
        let run = try GraphExecutor(graph: vit.graph, options: options, arena: arena)
        var random = SeededRandom(seed: 4)
        for id in vit.graph.parameters {
            let w = run.view(of: id)
            for i in w.indices { w[i] = random.uniform(-0.5, 0.5) }
        }
        let image = run.view(of: vit.images)
        for i in image.indices { image[i] = random.uniform(0, 1) }
        let labels = run.intView(of: vit.labels)
        labels[0] = 2
        labels[1] = 0
        func loss() -> Double {
            run.forward(training: true)
            return Double(run.view(of: vit.loss)[0])
        }
        _ = loss()
        run.backward(from: vit.loss)
        var checked = 0
        let h: Float = 1e-2
        for id in vit.graph.parameters {
            let name = vit.graph.values[id.index].name
            let w = run.view(of: id), analytic = Array(run.gradient(of: id))
            for i in stride(from: 0, to: w.count, by: max(1, w.count / 12)) {
                let saved = w[i]
                w[i] = saved + h
                let up = loss()
                w[i] = saved - h
                let down = loss()
                w[i] = saved
                let numeric = (up - down) / Double(2 * h)
                #expect(abs(Double(analytic[i]) - numeric) <= 2e-3 + 2e-2 * abs(numeric), "\(name)[\(i)]: backward \(analytic[i]), finite differences \(numeric)")
                checked += 1
            }
        }
        #expect(checked > 100)
    }
}
