import Testing
import Arena
import Graph
import LowLevel
import MallocCounter
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

/// The vision transformer's trainer on the bundled MNIST sample: it learns (test accuracy far
/// above chance after a few epochs), the same seed gives the same weights, an epoch and an
/// evaluation allocate nothing, and the arena is planned exactly.
@Suite(.serialized) struct ViTTrainingTests {
    init() { BLAS.configure(threads: 1) }

    static func trainer(epochs: Int) throws -> ViTTrainer {
        var shape = ViTConfig()
        (shape.features, shape.layers, shape.heads) = (32, 2, 2)
        var config = ViTTrainingConfig()
        (config.epochs, config.batch, config.warmup, config.learningRate) = (epochs, 32, 20, 3e-3)
        return try ViTTrainer(vit: try ViTGraph(shape), config: config, trainingCount: try loadSample().train.count)
    }

    @Test func learnsTheSampleDigits() throws {
        let data = try loadSample(), trainer = try Self.trainer(epochs: 12)
        var losses: [Float] = []
        try data.train.pixels.withUnsafeBufferPointer { pixels in
            try data.train.labels.withUnsafeBufferPointer { labels in
                for _ in 0..<12 { losses.append(try trainer.trainEpoch(pixels: pixels, labels: labels).loss) }
            }
        }
        let accuracy = data.test.pixels.withUnsafeBufferPointer { pixels in
            data.test.labels.withUnsafeBufferPointer { trainer.accuracy(pixels: pixels, labels: $0, count: data.test.count) }
        }
        #expect(losses.last! < 0.6 * losses.first!, "losses \(losses)")
        #expect(accuracy >= 0.5, "test accuracy \(accuracy) after 12 epochs of 1,000 digits")
        #expect(trainer.steps == 12 * 32)
    }

    @Test func sameSeedSameWeightsAndNoAllocation() throws {
        let data = try loadSample()
        var weights: [[Float]] = []
        for _ in 0..<2 {
            let trainer = try Self.trainer(epochs: 2)
            try data.train.pixels.withUnsafeBufferPointer { pixels in
                try data.train.labels.withUnsafeBufferPointer { labels in
                    _ = try trainer.trainEpoch(pixels: pixels, labels: labels)
                    malloc_counter_start()
                    _ = try trainer.trainEpoch(pixels: pixels, labels: labels)
                    _ = trainer.accuracy(pixels: pixels, labels: labels, count: 100)
                    #expect(malloc_counter_stop() == 0)
                }
            }
            #expect(trainer.arena.highWaterMark == trainer.arena.capacity, "the arena is planned exactly")
            weights.append(trainer.namedTensors.flatMap { Array($0.values) })
        }
        #expect(weights[0] == weights[1])
    }
}
