import Arena
import LowLevel

/// 2-D convolution (cross-correlation, as in every framework) over C×H×W samples: F filters of
/// C×a×b, stride, zero padding, bias. Implemented as im2col + GEMM: each sample's patches become
/// a (C·a·b) × (OH·OW) matrix, so the forward pass is W (F × C·a·b) times that matrix, and the
/// backward pass two more products. The patch matrices of a batch stay in the arena between the
/// forward and backward passes.
public final class Conv2D: Layer {
    /// How a batch's products are computed. Stride-1 convolutions use the direct loops, measured
    /// faster than im2col + GEMM at both LeNet sizes, forward and backward (Benchmarks/Convolution);
    /// other strides use im2col. Single samples (inference, the C runtime) always take
    /// `forwardOne`, so Swift and C give identical outputs.
    public enum Algorithm: String, Sendable, CaseIterable { case im2col, direct }

    public let geometry: ConvGeometry
    public let algorithm: Algorithm
    public let weight: Parameter
    public let bias: Parameter
    public let parameters: [Parameter]
    private let arena: ArenaAllocator
    /// im2col: maxBatch patch matrices, one after another. direct: maxBatch padded samples.
    private let columns: UnsafeMutableBufferPointer<Float>
    /// im2col: one patch matrix of input gradients. direct: one padded input gradient.
    private let columnGradient: UnsafeMutableBufferPointer<Float>
    /// direct: maxBatch zero-padded output gradients.
    private let paddedGradients: UnsafeMutableBufferPointer<Float>
    /// direct: what the input gradient and the batch forward pass work on — the weights turned
    /// by 180° ([C, F, kh, kw]), one output gradient padded for the gradient correlation, C zero
    /// biases, and (16+ filters) the weights as [taps, filters] for the across-filters kernel.
    private let flippedWeights: UnsafeMutableBufferPointer<Float>
    private let paddedOutputGradient: UnsafeMutableBufferPointer<Float>
    private let zeroBias: UnsafeMutableBufferPointer<Float>
    private let transposedWeights: UnsafeMutableBufferPointer<Float>
    /// direct, 16+ filters: maxBatch output gradients as [positions, filters] for the weight gradient.
    private let transposedGradients: UnsafeMutableBufferPointer<Float>
    /// direct: the weight gradient's partial sums, carried from sample to sample.
    private let weightGradientPartial: UnsafeMutableBufferPointer<Float>

    /// Set by `Network` when the ReLU after this layer is fused into it (`NetworkSpec.reluIsFused`):
    /// each sample's output is passed through max(x, 0) right after it is computed.
    public internal(set) var appliesReLU = false

    public var inputCount: Int { geometry.input.count }
    public var outputCount: Int { geometry.output.count }
    public var summary: String {
        "Conv2D(\(geometry.input)→\(geometry.output), \(geometry.kernelHeight)x\(geometry.kernelWidth)/\(geometry.strideY)x\(geometry.strideX))"
    }

    public static func defaultAlgorithm(_ g: ConvGeometry) -> Algorithm { DirectConvolution.applies(to: g) ? .direct : .im2col }

    public init(geometry: ConvGeometry, name: String, initializer: WeightInitializer, rng: inout RandomGenerator,
                arena: ArenaAllocator, maxBatch: Int, algorithm: Algorithm? = nil) throws(ArenaError) {
        let algorithm = algorithm ?? Self.defaultAlgorithm(geometry)
        precondition(algorithm == .im2col || DirectConvolution.applies(to: geometry), "direct convolution needs stride 1")
        self.geometry = geometry
        self.algorithm = algorithm
        self.arena = arena
        let f = geometry.output.channels, k = geometry.patch
        weight = Parameter(name: "\(name).weight", shape: [f, geometry.input.channels, geometry.kernelHeight, geometry.kernelWidth],
                           value: try arena.allocateFloats(f * k), gradient: try arena.allocateFloats(f * k), decays: true)
        bias = Parameter(name: "\(name).bias", shape: [f], value: try arena.allocateFloats(f),
                         gradient: try arena.allocateFloats(f), decays: false)
        parameters = [weight, bias]
        let sizes = Self.scratchSizes(geometry, maxBatch: maxBatch, algorithm: algorithm)
        columns = try arena.allocateFloats(sizes.0)
        columnGradient = try arena.allocateFloats(sizes.1)
        paddedGradients = try arena.allocateFloats(sizes.2)
        let extra = Self.directExtras(geometry, algorithm: algorithm)
        flippedWeights = try arena.allocateFloats(extra.flipped)
        // Zeroed by the arena; only its interior is ever written (`DirectConvolution.inputGradient`).
        paddedOutputGradient = try arena.allocateFloats(extra.paddedGradient)
        zeroBias = try arena.allocateFloats(extra.zeroBias)
        transposedWeights = try arena.allocateFloats(extra.transposed)
        transposedGradients = try arena.allocateFloats(extra.transposedGradients * maxBatch)
        weightGradientPartial = try arena.allocateFloats(extra.partial)
        initializer.fill(weight.value, fanIn: k, fanOut: f * geometry.kernelHeight * geometry.kernelWidth, rng: &rng)
    }

    private static func scratchSizes(_ g: ConvGeometry, maxBatch: Int, algorithm: Algorithm) -> (Int, Int, Int) {
        switch algorithm {
        case .im2col: (max(maxBatch * g.patch * g.positions, Convolution.scratchForOne(g)), g.patch * g.positions, 0)
        case .direct: (max(maxBatch * DirectConvolution.paddedCount(g), Convolution.scratchForOne(g)), DirectConvolution.paddedCount(g),
                       Convolution.usesTransposedWeights(g) || DirectConvolution.readsGradientInPlace(g) ? 0 : maxBatch * DirectConvolution.gradientCount(g))
        }
    }

    /// Floats of the direct algorithm's extra buffers (all 0 for im2col).
    /// (`transposedGradients` is per sample.)
    private static func directExtras(_ g: ConvGeometry, algorithm: Algorithm)
        -> (flipped: Int, paddedGradient: Int, zeroBias: Int, transposed: Int, transposedGradients: Int, partial: Int) {
        guard algorithm == .direct else { return (0, 0, 0, 0, 0, 0) }
        let across = Convolution.usesTransposedWeights(g)
        return (g.output.channels * g.patch, DirectConvolution.paddedCount(DirectConvolution.gradientGeometry(g)), g.input.channels,
                across ? DirectConvolution.transposedWeightCount(g) : 0, across ? DirectConvolution.transposedGradientCount(g) : 0,
                across ? DirectConvolution.acrossFiltersPartialCount(g) : DirectConvolution.rowPartialCount(g))
    }

    static func arenaBytes(geometry: ConvGeometry, maxBatch: Int, algorithm: Algorithm? = nil) -> Int {
        let f = geometry.output.channels, k = geometry.patch
        let algorithm = algorithm ?? defaultAlgorithm(geometry)
        let sizes = scratchSizes(geometry, maxBatch: maxBatch, algorithm: algorithm)
        let extra = directExtras(geometry, algorithm: algorithm)
        return 2 * ArenaAllocator.footprint(of: Float.self, count: f * k) + 2 * ArenaAllocator.footprint(of: Float.self, count: f)
            + ArenaAllocator.footprint(of: Float.self, count: sizes.0)
            + ArenaAllocator.footprint(of: Float.self, count: sizes.1)
            + ArenaAllocator.footprint(of: Float.self, count: sizes.2)
            + [extra.flipped, extra.paddedGradient, extra.zeroBias, extra.transposed, extra.transposedGradients * maxBatch,
                extra.partial].reduce(0) {
                $0 + ArenaAllocator.footprint(of: Float.self, count: $1)
            }
    }

    public func forward(_ x: Matrix, into y: Matrix, training: Bool) {
        let k = geometry.patch, p = geometry.positions, f = geometry.output.channels
        if x.rows == 1 && !training {
            // One sample for inference: the path the C runtime uses, so both give identical outputs.
            Convolution.forwardOne(x.base, geometry, weight: weight.value.baseAddress!, bias: bias.value.baseAddress!,
                            scratch: columns.baseAddress!, into: y.base)
            if appliesReLU { Kernels.relu(y.base, into: y.base, count: outputCount) }
            return
        }
        switch algorithm {
        case .direct:
            let acrossFilters = Convolution.usesTransposedWeights(geometry), inPlace = Convolution.readsInputInPlace(geometry)
            if acrossFilters { DirectConvolution.transposeWeights(weight.value.baseAddress!, geometry, into: transposedWeights.baseAddress!) }
            for n in 0..<x.rows {
                let padded: UnsafePointer<Float>
                if inPlace {
                    padded = UnsafePointer(x.row(n))
                } else {
                    let copy = columns.baseAddress! + n * DirectConvolution.paddedCount(geometry)
                    DirectConvolution.pad(x.row(n), geometry, into: copy)
                    padded = UnsafePointer(copy)
                }
                if acrossFilters {
                    DirectConvolution.forwardAcrossFilters(padded: padded, geometry, transposedWeight: transposedWeights.baseAddress!,
                                                           bias: bias.value.baseAddress!, into: y.row(n))
                } else {
                    DirectConvolution.forward(padded: padded, geometry, weight: weight.value.baseAddress!,
                                              bias: bias.value.baseAddress!, into: y.row(n))
                }
                if appliesReLU { Kernels.relu(y.row(n), into: y.row(n), count: outputCount) }
            }
        case .im2col:
            // One GEMM per sample: measured faster at LeNet sizes than one GEMM over the whole
            // batch (OpenBLAS handles F × B·P with F = 6 poorly).
            for n in 0..<x.rows {
                let col = columns.baseAddress! + n * k * p
                Convolution.im2col(x.row(n), geometry, into: col)
                let out = y.row(n)
                for filter in 0..<f { Kernels.fill(out + filter * p, with: bias.value[filter], count: p) }
                Kernels.gemm(.none, .none, m: f, n: p, k: k, alpha: 1, a: weight.value.baseAddress!, lda: k,
                             b: col, ldb: p, beta: 1, c: out, ldc: p)
            }
        }
    }

    public func backward(input x: Matrix, output y: Matrix, outputGradient dy: Matrix, inputGradient dx: Matrix?) {
        let k = geometry.patch, p = geometry.positions, f = geometry.output.channels
        let dw = weight.gradient.baseAddress!, db = bias.gradient.baseAddress!
        Kernels.fill(db, with: 0, count: f)
        for n in 0..<dy.rows {
            for filter in 0..<f { db[filter] += Kernels.sum(dy.row(n) + filter * p, count: p) }
        }
        if algorithm == .direct {
            if Convolution.usesTransposedWeights(geometry) {
                let stride = DirectConvolution.transposedGradientCount(geometry)
                for n in 0..<dy.rows {
                    DirectConvolution.transposeGradient(dy.row(n), geometry, into: transposedGradients.baseAddress! + n * stride)
                }
                let inPlace = Convolution.readsInputInPlace(geometry)
                DirectConvolution.weightGradientAcrossFilters(padded: inPlace ? x.base : columns.baseAddress!,
                                                              sampleStride: inPlace ? x.columns : DirectConvolution.paddedCount(geometry),
                                                              gradients: transposedGradients.baseAddress!, batch: dy.rows, geometry,
                                                              partial: weightGradientPartial.baseAddress!, into: dw)
            } else {
                var gradients = UnsafePointer(dy.base)
                if !DirectConvolution.readsGradientInPlace(geometry) {
                    let stride = DirectConvolution.gradientCount(geometry)
                    for n in 0..<dy.rows {
                        DirectConvolution.padGradient(dy.row(n), geometry, into: paddedGradients.baseAddress! + n * stride)
                    }
                    gradients = UnsafePointer(paddedGradients.baseAddress!)
                }
                DirectConvolution.weightGradient(padded: columns.baseAddress!, gradients: gradients,
                                                 batch: dy.rows, geometry, partial: weightGradientPartial.baseAddress!, into: dw)
            }
            if let dx {
                DirectConvolution.flipWeights(weight.value.baseAddress!, geometry, into: flippedWeights.baseAddress!)
                for n in 0..<dy.rows {
                    DirectConvolution.inputGradient(outputGradient: dy.row(n), geometry, flipped: flippedWeights.baseAddress!,
                                                    zeroBias: zeroBias.baseAddress!, paddedGradient: paddedOutputGradient.baseAddress!,
                                                    plane: columnGradient.baseAddress!, into: dx.row(n))
                }
            }
            return
        }
        for n in 0..<dy.rows {
            let g = dy.row(n)
            // dW += dY_n · col_nᵀ
            Kernels.gemm(.none, .transposed, m: f, n: k, k: p, alpha: 1, a: g, lda: p,
                         b: columns.baseAddress! + n * k * p, ldb: p, beta: n == 0 ? 0 : 1, c: dw, ldc: k)
            if let dx {
                // dcol = Wᵀ · dY_n, then scattered back onto the input positions.
                Kernels.gemm(.transposed, .none, m: k, n: p, k: f, alpha: 1, a: weight.value.baseAddress!, lda: k,
                             b: g, ldb: p, beta: 0, c: columnGradient.baseAddress!, ldc: p)
                Convolution.col2im(columnGradient.baseAddress!, geometry, into: dx.row(n))
            }
        }
    }

}
