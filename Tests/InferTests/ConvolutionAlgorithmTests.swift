import Testing
import Arena
import Infer
import LowLevel

/// Direct loops and im2col + GEMM compute the same convolution, forward and backward.
@Suite struct ConvolutionAlgorithmTests {
    init() { BLAS.configure(threads: 1) }

    static let geometries: [(Shape3, Conv2DSpec)] = [
        (Shape3(channels: 1, height: 28, width: 28), Conv2DSpec(filters: 6, kernel: (5, 5), padding: (2, 2))),
        (Shape3(channels: 6, height: 14, width: 14), Conv2DSpec(filters: 16, kernel: (5, 5))),
        (Shape3(channels: 3, height: 7, width: 19), Conv2DSpec(filters: 2, kernel: (3, 2), padding: (1, 0))),
        (Shape3(channels: 2, height: 9, width: 8), Conv2DSpec(filters: 3, kernel: (4, 3), same: true)),
        (Shape3(channels: 1, height: 5, width: 40), Conv2DSpec(filters: 1, kernel: (1, 1))),
        // More than 16 filters: the across-filters kernels' second, partial block.
        (Shape3(channels: 2, height: 8, width: 9), Conv2DSpec(filters: 21, kernel: (3, 3), padding: (1, 1))),
        // Two blocks of the six-filter row kernels (the second short), and rows of 17: the last
        // column block moves back to end at the row's end.
        (Shape3(channels: 2, height: 6, width: 17), Conv2DSpec(filters: 9, kernel: (3, 3), padding: (2, 1))),
        // Across filters on row segments: rows of 23 (segments of 5 or 10, the last moved back),
        // and rows of 2, too short for a segment.
        (Shape3(channels: 2, height: 5, width: 23), Conv2DSpec(filters: 17, kernel: (3, 3), padding: (1, 1))),
        (Shape3(channels: 3, height: 6, width: 4), Conv2DSpec(filters: 16, kernel: (3, 3))),
    ]

    @Test(arguments: 0..<geometries.count) func directMatchesIm2col(index: Int) throws {
        let (input, spec) = Self.geometries[index]
        let g = try #require(spec.geometry(input: input))
        let batch = 3
        var layers: [Conv2D] = []
        var arenas: [ArenaAllocator] = []
        for algorithm in [Conv2D.Algorithm.im2col, .direct] {
            let arena = try ArenaAllocator(capacity: 1 << 24)
            var rng = RandomGenerator(seed: 5)
            layers.append(try Conv2D(geometry: g, name: "c", initializer: .he, rng: &rng, arena: arena, maxBatch: batch, algorithm: algorithm))
            arenas.append(arena)
        }
        for i in layers[0].bias.value.indices { layers[0].bias.value[i] = Float(i) * 0.1; layers[1].bias.value[i] = Float(i) * 0.1 }
        var x = testValues(batch * g.input.count, seed: 6), dy = testValues(batch * g.output.count, seed: 7)
        var results: [([Float], [Float], [Float], [Float])] = []
        for layer in layers {
            var y = [Float](repeating: 0, count: batch * g.output.count), dx = [Float](repeating: 0, count: batch * g.input.count)
            x.withUnsafeMutableBufferPointer { xb in y.withUnsafeMutableBufferPointer { yb in
                dy.withUnsafeMutableBufferPointer { gb in dx.withUnsafeMutableBufferPointer { db in
                    let mx = Matrix(xb, rows: batch, columns: g.input.count), my = Matrix(yb, rows: batch, columns: g.output.count)
                    layer.forward(mx, into: my, training: true)
                    layer.backward(input: mx, output: my, outputGradient: Matrix(gb, rows: batch, columns: g.output.count),
                                   inputGradient: Matrix(db, rows: batch, columns: g.input.count))
                } }
            } }
            results.append((y, dx, Array(layer.weight.gradient), Array(layer.bias.gradient)))
        }
        func close(_ a: [Float], _ b: [Float], _ what: String) {
            #expect(a.count == b.count)
            for i in a.indices { #expect(abs(a[i] - b[i]) <= 1e-4 * max(1, abs(a[i])), "\(what)[\(i)]: \(a[i]) vs \(b[i])") }
        }
        close(results[0].0, results[1].0, "y")
        close(results[0].1, results[1].1, "dx")
        close(results[0].2, results[1].2, "dW")
        close(results[0].3, results[1].3, "db")
        _ = arenas
    }
}

extension ConvolutionAlgorithmTests {
    /// The single-sample inference path (shared with the C runtime; vectorised across filters when
    /// there are 16 or more) computes the batch path's convolution.
    @Test(arguments: 0..<geometries.count) func singleSampleInferenceMatchesTheBatchPath(index: Int) throws {
        let (input, spec0) = Self.geometries[index]
        var spec = spec0
        for filters in [spec0.filters, 16, 21] {
            spec.filters = filters
            let g = try #require(spec.geometry(input: input))
            let arena = try ArenaAllocator(capacity: 1 << 24)
            var rng = RandomGenerator(seed: 8)
            let layer = try Conv2D(geometry: g, name: "c", initializer: .he, rng: &rng, arena: arena, maxBatch: 2)
            for i in layer.bias.value.indices { layer.bias.value[i] = Float(i) * 0.05 - 0.3 }
            var x = testValues(2 * g.input.count, seed: 9)
            var batch = [Float](repeating: 0, count: 2 * g.output.count), one = [Float](repeating: 0, count: g.output.count)
            x.withUnsafeMutableBufferPointer { xb in
                batch.withUnsafeMutableBufferPointer { yb in
                    layer.forward(Matrix(xb, rows: 2, columns: g.input.count), into: Matrix(yb, rows: 2, columns: g.output.count), training: false)
                }
                one.withUnsafeMutableBufferPointer { yb in
                    layer.forward(Matrix(xb, rows: 1, columns: g.input.count), into: Matrix(yb, rows: 1, columns: g.output.count), training: false)
                }
            }
            for i in one.indices { #expect(abs(one[i] - batch[i]) <= 1e-5 * max(1, abs(batch[i])), "\(filters) filters, y[\(i)]") }
        }
    }
}

/// The vectorised 2×2 max pooling of inference (no argmax) equals the scalar path that records
/// the winners, for row widths with and without a vector step.
@Suite struct MaxPoolInferencePathTests {
    @Test(arguments: [(6, 28, 28), (16, 10, 10), (3, 9, 33), (2, 4, 64)])
    func vectorPathEqualsScalarPath(_ shape: (Int, Int, Int)) throws {
        let input = Shape3(channels: shape.0, height: shape.1, width: shape.2)
        let spec = PoolSpec(window: (2, 2))
        let output = try #require(spec.output(input: input))
        let arena = try ArenaAllocator(capacity: 1 << 20)
        var rng = RandomGenerator(seed: 2)
        let pool = try Pool2D(.max, spec: spec, input: input, arena: arena, maxBatch: 1)
        var x = (0..<input.count).map { _ in rng.nextGaussian() }
        var inference = [Float](repeating: 0, count: output.count), training = inference
        x.withUnsafeMutableBufferPointer { xb in
            inference.withUnsafeMutableBufferPointer { yb in
                pool.forward(Matrix(xb, rows: 1, columns: input.count), into: Matrix(yb, rows: 1, columns: output.count), training: false)
            }
            training.withUnsafeMutableBufferPointer { yb in
                pool.forward(Matrix(xb, rows: 1, columns: input.count), into: Matrix(yb, rows: 1, columns: output.count), training: true)
            }
        }
        #expect(inference == training)
        // And both are the true maxima.
        for c in 0..<input.channels {
            for oy in 0..<output.height {
                for ox in 0..<output.width {
                    let a = c * input.spatial + 2 * oy * input.width + 2 * ox
                    let m = max(max(x[a], x[a + 1]), max(x[a + input.width], x[a + input.width + 1]))
                    #expect(inference[(c * output.height + oy) * output.width + ox] == m)
                }
            }
        }
    }

    /// Training's winners (vectorised for most rows, scalar near each sample's end) are the first
    /// maxima in row-major window order, ties included: the backward pass routes each output's
    /// gradient to exactly that input, in every sample of a batch.
    @Test(arguments: [(6, 28, 28), (16, 10, 10), (3, 9, 33), (2, 4, 64), (1, 5, 5)])
    func trainingWinnersAreTheFirstMaxima(_ shape: (Int, Int, Int)) throws {
        let input = Shape3(channels: shape.0, height: shape.1, width: shape.2)
        let spec = PoolSpec(window: (2, 2))
        let output = try #require(spec.output(input: input))
        let batch = 3
        let arena = try ArenaAllocator(capacity: 1 << 21)
        var rng = RandomGenerator(seed: 3)
        let pool = try Pool2D(.max, spec: spec, input: input, arena: arena, maxBatch: batch)
        // Few distinct values, so windows often hold ties.
        var x = (0..<batch * input.count).map { _ in Float(Int(rng.nextUniform() * 4)) }
        let dy = (0..<batch * output.count).map { Float($0 + 1) }
        var y = [Float](repeating: 0, count: batch * output.count), dx = [Float](repeating: -1, count: batch * input.count)
        var dyCopy = dy
        x.withUnsafeMutableBufferPointer { xb in
            y.withUnsafeMutableBufferPointer { yb in
                dyCopy.withUnsafeMutableBufferPointer { gb in
                    dx.withUnsafeMutableBufferPointer { db in
                        let mx = Matrix(xb, rows: batch, columns: input.count), my = Matrix(yb, rows: batch, columns: output.count)
                        pool.forward(mx, into: my, training: true)
                        pool.backward(input: mx, output: my, outputGradient: Matrix(gb, rows: batch, columns: output.count),
                                      inputGradient: Matrix(db, rows: batch, columns: input.count))
                    }
                }
            }
        }
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
}
