import Arena
import Benchmark
import Graph
import LowLevel

/// im2col + GEMM against direct SIMD loops at LeNet's two convolution sizes, batch 64, forward
/// and forward + backward (with the input gradient for the second layer, as in training): the
/// conv2d graph op with its `algorithm` argument set each way.
let benchmarks: @Sendable () -> Void = {
    BLAS.configure(threads: 1)
    let configuration = Benchmark.Configuration(metrics: [.wallClock, .mallocCountTotal], warmupIterations: 3,
                                                scalingFactor: .one, maxDuration: .seconds(3), maxIterations: 200)
    let layers: [(String, Shape3, Conv2DSpec, Bool)] = [
        ("conv1 1x28x28 → 6@5x5 pad 2", Shape3(channels: 1, height: 28, width: 28), Conv2DSpec(filters: 6, kernel: (5, 5), padding: (2, 2)), false),
        ("conv2 6x14x14 → 16@5x5", Shape3(channels: 6, height: 14, width: 14), Conv2DSpec(filters: 16, kernel: (5, 5)), true),
    ]
    let batch = 64
    for (name, input, spec, needsInputGradient) in layers {
        for (algorithm, label) in [(1, "im2col"), (2, "direct")] {
            let g = GraphBuilder()
            let x = g.input("x", shape: [input.channels, input.height, input.width])
            let y = try! g.conv2d(x, spec, name: "c", algorithm: algorithm)
            let graph = try! g.build()
            let options = PlanOptions(.training, maxBatch: batch, seeds: [y], gradients: needsInputGradient ? [x] : [])
            let arena = try! ArenaAllocator(capacity: try! GraphExecutor.arenaBytes(graph: graph, options: options))
            let run = try! GraphExecutor(graph: graph, options: options, arena: arena)
            var rng = RandomGenerator(seed: 1)
            for p in graph.parameters { let w = run.view(of: p); for i in w.indices { w[i] = rng.nextGaussian() * 0.2 } }
            let xs = run.view(of: x)
            for i in xs.indices { xs[i] = rng.nextUniform() < 0.3 ? rng.nextUniform() : 0 }
            let dy = UnsafeMutableBufferPointer<Float>.allocate(capacity: run.view(of: y).count)
            for i in dy.indices { dy[i] = rng.nextUniform() - 0.5 }
            Benchmark("\(name), batch 64, forward, \(label)", configuration: configuration) { benchmark in
                for _ in benchmark.scaledIterations { run.forward(training: true) }
                blackHole(arena)
            }
            Benchmark("\(name), batch 64, forward+backward, \(label)", configuration: configuration) { benchmark in
                for _ in benchmark.scaledIterations {
                    run.forward(training: true)
                    run.backward(from: y, gradient: dy.baseAddress!)
                }
                blackHole(arena)
            }
        }
    }
}
