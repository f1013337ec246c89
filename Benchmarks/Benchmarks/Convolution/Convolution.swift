import Arena
import Benchmark
import Infer
import LowLevel

/// im2col + GEMM against direct SIMD loops at LeNet's two convolution sizes, batch 64, forward
/// and forward + backward (with the input gradient for the second layer, as in training).
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
        let g = spec.geometry(input: input)!
        for algorithm in Conv2D.Algorithm.allCases {
            let arena = try! ArenaAllocator(capacity: 64 << 20)
            var rng = RandomGenerator(seed: 1)
            let layer = try! Conv2D(geometry: g, name: "c", initializer: .he, rng: &rng, arena: arena, maxBatch: batch, algorithm: algorithm)
            let x = try! arena.allocateFloats(batch * g.input.count), y = try! arena.allocateFloats(batch * g.output.count)
            let dy = try! arena.allocateFloats(batch * g.output.count), dx = try! arena.allocateFloats(batch * g.input.count)
            for i in x.indices { x[i] = rng.nextUniform() < 0.3 ? rng.nextUniform() : 0 }
            for i in dy.indices { dy[i] = rng.nextUniform() - 0.5 }
            let mx = Matrix(x, rows: batch, columns: g.input.count), my = Matrix(y, rows: batch, columns: g.output.count)
            let mdy = Matrix(dy, rows: batch, columns: g.output.count), mdx = Matrix(dx, rows: batch, columns: g.input.count)
            Benchmark("\(name), batch 64, forward, \(algorithm.rawValue)", configuration: configuration) { benchmark in
                for _ in benchmark.scaledIterations { layer.forward(mx, into: my, training: true) }
                blackHole(arena)
            }
            Benchmark("\(name), batch 64, forward+backward, \(algorithm.rawValue)", configuration: configuration) { benchmark in
                for _ in benchmark.scaledIterations {
                    layer.forward(mx, into: my, training: true)
                    layer.backward(input: mx, output: my, outputGradient: mdy, inputGradient: needsInputGradient ? mdx : nil)
                }
                blackHole(arena)
            }
        }
    }
}
