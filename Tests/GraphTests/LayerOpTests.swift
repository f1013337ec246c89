import Testing
import Arena
import LowLevel
@testable import Graph

/// The layer ops' alternative paths against each other: direct convolution against im2col, the
/// single-sample inference path against the batch path, pooling's inference path against its
/// training path, and dropout's masks.
@Suite struct LayerOpTests {
    static let geometries: [(Shape3, Conv2DSpec)] = [
        (Shape3(channels: 1, height: 28, width: 28), Conv2DSpec(filters: 6, kernel: (5, 5), padding: (2, 2))),
        (Shape3(channels: 6, height: 14, width: 14), Conv2DSpec(filters: 16, kernel: (5, 5))),
        (Shape3(channels: 3, height: 7, width: 19), Conv2DSpec(filters: 2, kernel: (3, 2), padding: (1, 0))),
        (Shape3(channels: 2, height: 9, width: 8), Conv2DSpec(filters: 3, kernel: (4, 3), same: true)),
        (Shape3(channels: 1, height: 5, width: 40), Conv2DSpec(filters: 1, kernel: (1, 1))),
        // 16+ filters: the across-filters kernels, with and without padding, wide and narrow rows.
        (Shape3(channels: 2, height: 8, width: 9), Conv2DSpec(filters: 21, kernel: (3, 3), padding: (1, 1))),
        (Shape3(channels: 2, height: 6, width: 17), Conv2DSpec(filters: 9, kernel: (3, 3), padding: (2, 1))),
        (Shape3(channels: 2, height: 5, width: 23), Conv2DSpec(filters: 17, kernel: (3, 3), padding: (1, 1))),
        (Shape3(channels: 3, height: 6, width: 4), Conv2DSpec(filters: 16, kernel: (3, 3))),
    ]

    /// A one-convolution graph: x → conv → y, with the weights and bias drawn from `seed`.
    static func convolution(_ input: Shape3, _ spec: Conv2DSpec, algorithm: Int, mode: PlanOptions.Mode, maxBatch: Int,
                            seed: UInt64) throws -> (GraphExecutor, x: ValueID, y: ValueID) {
        let g = GraphBuilder()
        let x = g.input("x", shape: [input.channels, input.height, input.width])
        let y = try g.conv2d(x, spec, name: "c", algorithm: algorithm)
        g.output(y)
        let run = try makeExecutor(try g.build(), PlanOptions(mode, maxBatch: maxBatch, seeds: mode == .training ? [y] : [],
                                                              gradients: mode == .training ? [x] : []))
        var random = SeededRandom(seed: seed)
        for p in run.graph.parameters { fill(run.view(of: p), &random) }
        return (run, x, y)
    }

    @Test(arguments: 0..<geometries.count) func directMatchesIm2col(index: Int) throws {
        let (input, spec) = Self.geometries[index]
        var results: [[[Float]]] = []
        for algorithm in [1, 2] {
            let (run, x, y) = try Self.convolution(input, spec, algorithm: algorithm, mode: .training, maxBatch: 3, seed: 5)
            var random = SeededRandom(seed: 6)
            fill(run.view(of: x), &random)
            run.forward(training: true)
            let dy = (0..<run.view(of: y).count).map { _ in random.uniform(-1, 1) }
            run.backward(from: y, gradient: dy)
            let w = run.graph.value(named: "c.weight")!, b = run.graph.value(named: "c.bias")!
            results.append([Array(run.view(of: y)), Array(run.gradient(of: x)), Array(run.gradient(of: w)), Array(run.gradient(of: b))])
        }
        for (what, (a, b)) in zip(["y", "dx", "dW", "db"], zip(results[0], results[1])) {
            #expect(a.count == b.count)
            for i in a.indices { #expect(abs(a[i] - b[i]) <= 1e-4 * max(1, abs(a[i])), "\(what)[\(i)]: \(a[i]) vs \(b[i])") }
        }
    }

    /// The single-sample inference path (shared with the C runtime; vectorised across filters when
    /// there are 16 or more) computes the batch path's convolution.
    @Test(arguments: 0..<geometries.count) func singleSampleInferenceMatchesTheBatchPath(index: Int) throws {
        let (input, spec0) = Self.geometries[index]
        var spec = spec0
        for filters in [spec0.filters, 16, 21] {
            spec.filters = filters
            let (run, x, y) = try Self.convolution(input, spec, algorithm: 0, mode: .inference, maxBatch: 2, seed: 8)
            var random = SeededRandom(seed: 9)
            fill(run.view(of: x), &random)
            run.forward()
            let batch = Array(run.view(of: y))
            run.rows = 1
            run.forward()
            let one = Array(run.view(of: y))
            for i in one.indices { #expect(abs(one[i] - batch[i]) <= 1e-5 * max(1, abs(batch[i])), "\(filters) filters, y[\(i)]") }
        }
    }

    static func pool(_ input: Shape3, mode: PlanOptions.Mode, maxBatch: Int) throws -> (GraphExecutor, x: ValueID, y: ValueID) {
        let g = GraphBuilder()
        let x = g.input("x", shape: [input.channels, input.height, input.width])
        let y = try g.maxPool2d(x, PoolSpec(window: (2, 2)))
        g.output(y)
        let run = try makeExecutor(try g.build(), PlanOptions(mode, maxBatch: maxBatch, seeds: mode == .training ? [y] : [],
                                                              gradients: mode == .training ? [x] : []))
        return (run, x, y)
    }

    /// The vectorised 2×2 max pooling of inference (no winners kept) equals the path that records
    /// them, for row widths with and without a vector step, and both are the true maxima.
    @Test(arguments: [(6, 28, 28), (16, 10, 10), (3, 9, 33), (2, 4, 64)])
    func maxPoolInferencePathEqualsTrainingPath(_ shape: (Int, Int, Int)) throws {
        let input = Shape3(channels: shape.0, height: shape.1, width: shape.2)
        let output = try #require(PoolSpec(window: (2, 2)).output(input: input))
        let (inference, xi, yi) = try Self.pool(input, mode: .inference, maxBatch: 1)
        let (training, xt, yt) = try Self.pool(input, mode: .training, maxBatch: 1)
        var random = SeededRandom(seed: 2)
        fill(inference.view(of: xi), &random)
        _ = training.view(of: xt).update(fromContentsOf: inference.view(of: xi))
        inference.forward()
        training.forward(training: true)
        #expect(Array(inference.view(of: yi)) == Array(training.view(of: yt)))
        let x = inference.view(of: xi), y = inference.view(of: yi)
        for c in 0..<input.channels {
            for oy in 0..<output.height {
                for ox in 0..<output.width {
                    let a = c * input.spatial + 2 * oy * input.width + 2 * ox
                    #expect(y[(c * output.height + oy) * output.width + ox] == max(max(x[a], x[a + 1]), max(x[a + input.width], x[a + input.width + 1])))
                }
            }
        }
    }

    /// Training's winners (vectorised for most rows, scalar near each sample's end) are the first
    /// maxima in row-major window order, ties included: backward routes each output's gradient to
    /// exactly that input, in every sample of a batch.
    @Test(arguments: [(6, 28, 28), (16, 10, 10), (3, 9, 33), (2, 4, 64), (1, 5, 5)])
    func maxPoolWinnersAreTheFirstMaxima(_ shape: (Int, Int, Int)) throws {
        let input = Shape3(channels: shape.0, height: shape.1, width: shape.2)
        let output = try #require(PoolSpec(window: (2, 2)).output(input: input))
        let batch = 3
        let (run, xv, yv) = try Self.pool(input, mode: .training, maxBatch: batch)
        var random = SeededRandom(seed: 3)
        let x = run.view(of: xv)
        for i in x.indices { x[i] = Float(Int(random.uniform(0, 4))) } // few distinct values: ties
        run.forward(training: true)
        let dy = (0..<batch * output.count).map { Float($0 + 1) }
        run.backward(from: yv, gradient: dy)
        let y = run.view(of: yv), dx = run.gradient(of: xv)
        var expected = [Float](repeating: 0, count: batch * input.count)
        for n in 0..<batch {
            for c in 0..<input.channels {
                for oy in 0..<output.height {
                    for ox in 0..<output.width {
                        let a = n * input.count + c * input.spatial + 2 * oy * input.width + 2 * ox
                        let window = [a, a + 1, a + input.width, a + input.width + 1]
                        let best = window.map { x[$0] }.max()!
                        let o = n * output.count + (c * output.height + oy) * output.width + ox
                        #expect(y[o] == best)
                        expected[window.first { x[$0] == best }!] = dy[o]
                    }
                }
            }
        }
        let misrouted = zip(dx, expected).filter { $0 != $1 }.count
        #expect(misrouted == 0, "\(misrouted) of \(dx.count) input gradients differ")
    }

    /// Dropout zeroes about its rate, scales the rest by 1/(1 − rate), masks the gradient the same
    /// way, is the identity in evaluation, and draws the same masks from the same generator state.
    @Test func dropoutMasksScalesAndRepeats() throws {
        let g = GraphBuilder()
        let x = g.input("x", shape: [1000])
        let state = g.generatorState("generator")
        let y = try g.dropout(x, rate: 0.3, generator: state)
        g.output(y)
        let run = try makeExecutor(try g.build(), PlanOptions(.training, maxBatch: 2, seeds: [y], gradients: [x]))
        func seed() {
            withUnsafeBytes(of: RandomGenerator(seed: 1)) { UnsafeMutableRawBufferPointer(run.intView(of: state)).copyMemory(from: $0) }
        }
        seed()
        run.view(of: x).update(repeating: 1)
        run.forward(training: true)
        let masked = Array(run.view(of: y))
        var random = SeededRandom(seed: 2)
        let dy = (0..<2000).map { _ in random.uniform(-1, 1) }
        run.backward(from: y, gradient: dy)
        let zeros = masked.filter { $0 == 0 }.count
        #expect(abs(Double(zeros) / 2000 - 0.3) < 0.04)
        #expect(masked.allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-6 })
        for i in 0..<2000 { #expect(run.gradient(of: x)[i] == dy[i] * masked[i]) } // y = mask for x = 1
        run.forward(training: false)
        #expect(run.view(of: y).allSatisfy { $0 == 1 })
        seed()
        run.forward(training: true)
        #expect(Array(run.view(of: y)) == masked)
        run.forward(training: true)
        #expect(Array(run.view(of: y)) != masked, "the generator moves on")
    }
}
