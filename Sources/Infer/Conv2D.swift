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
        case .im2col: (max(maxBatch * g.patch * g.positions, scratchForOne(g)), g.patch * g.positions, 0)
        case .direct: (max(maxBatch * DirectConvolution.paddedCount(g), scratchForOne(g)), DirectConvolution.paddedCount(g),
                       usesTransposedWeights(g) || DirectConvolution.readsGradientInPlace(g) ? 0 : maxBatch * DirectConvolution.gradientCount(g))
        }
    }

    /// Floats of the direct algorithm's extra buffers (all 0 for im2col).
    /// (`transposedGradients` is per sample.)
    private static func directExtras(_ g: ConvGeometry, algorithm: Algorithm)
        -> (flipped: Int, paddedGradient: Int, zeroBias: Int, transposed: Int, transposedGradients: Int, partial: Int) {
        guard algorithm == .direct else { return (0, 0, 0, 0, 0, 0) }
        let across = usesTransposedWeights(g)
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

    /// Whether single-sample inference vectorises across filters, with weights transposed to
    /// [taps, filters]: with 16 filters or more, all vector lanes carry filters (LeNet's second
    /// convolution); with fewer, the row-vectorised loop wastes fewer lanes.
    static func usesTransposedWeights(_ g: ConvGeometry) -> Bool {
        DirectConvolution.applies(to: g) && g.output.channels >= 16
    }

    /// Whether the direct loops read the input where it is, without a padded copy: the
    /// across-filters kernels read single values inside the planes only, so an unpadded input
    /// needs no slack (LeNet's second convolution).
    static func readsInputInPlace(_ g: ConvGeometry) -> Bool {
        usesTransposedWeights(g) && g.padTop == 0 && g.padLeft == 0
            && DirectConvolution.paddedHeight(g) == g.input.height && DirectConvolution.paddedWidth(g) == g.input.width
    }

    /// Floats of scratch `forwardOne` needs for this geometry.
    static func scratchForOne(_ g: ConvGeometry) -> Int {
        guard DirectConvolution.applies(to: g) else { return g.patch * g.positions }
        return DirectConvolution.paddedCount(g) + (usesTransposedWeights(g) ? DirectConvolution.transposedWeightCount(g) : 0)
    }

    public func forward(_ x: Matrix, into y: Matrix, training: Bool) {
        let k = geometry.patch, p = geometry.positions, f = geometry.output.channels
        if x.rows == 1 && !training {
            // One sample for inference: the path the C runtime uses, so both give identical outputs.
            Self.forwardOne(x.base, geometry, weight: weight.value.baseAddress!, bias: bias.value.baseAddress!,
                            scratch: columns.baseAddress!, into: y.base)
            if appliesReLU { Kernels.relu(y.base, into: y.base, count: outputCount) }
            return
        }
        switch algorithm {
        case .direct:
            let acrossFilters = Self.usesTransposedWeights(geometry), inPlace = Self.readsInputInPlace(geometry)
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
                Self.im2col(x.row(n), geometry, into: col)
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
            if Self.usesTransposedWeights(geometry) {
                let stride = DirectConvolution.transposedGradientCount(geometry)
                for n in 0..<dy.rows {
                    DirectConvolution.transposeGradient(dy.row(n), geometry, into: transposedGradients.baseAddress! + n * stride)
                }
                let inPlace = Self.readsInputInPlace(geometry)
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
                Self.col2im(columnGradient.baseAddress!, geometry, into: dx.row(n))
            }
        }
    }

    /// One sample without BLAS: direct loops over a padded copy for stride 1, otherwise im2col
    /// into `scratch` and a vector-matrix product per filter (b + Σₖ W[f, k] · col[k, :]).
    /// `scratch` holds `scratchForOne(g)` floats.
    /// `transposed`, for geometries where `usesTransposedWeights`, may hold the weights already
    /// laid out by `DirectConvolution.transposeWeights` (the runtime does that once at open);
    /// otherwise they are transposed into the scratch on every call.
    static func forwardOne(_ x: UnsafePointer<Float>, _ g: ConvGeometry, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                           scratch: UnsafeMutablePointer<Float>, into y: UnsafeMutablePointer<Float>,
                           transposed: UnsafePointer<Float>? = nil) {
        if DirectConvolution.applies(to: g) {
            let inPlace = readsInputInPlace(g)
            if !inPlace { DirectConvolution.pad(x, g, into: scratch) }
            let padded = inPlace ? x : UnsafePointer(scratch)
            if usesTransposedWeights(g) {
                var transposed = transposed
                if transposed == nil {
                    let t = scratch + DirectConvolution.paddedCount(g)
                    DirectConvolution.transposeWeights(weight, g, into: t)
                    transposed = UnsafePointer(t)
                }
                DirectConvolution.forwardAcrossFilters(padded: padded, g, transposedWeight: transposed!, bias: bias, into: y)
            } else {
                DirectConvolution.forward(padded: scratch, g, weight: weight, bias: bias, into: y)
            }
            return
        }
        let k = g.patch, p = g.positions
        im2col(x, g, into: scratch)
        for f in 0..<g.output.channels {
            let row = y + f * p
            Kernels.fill(row, with: bias[f], count: p)
            Kernels.vectorMatrix(weight + f * k, rows: k, matrix: scratch, ld: p, columns: p, into: row, accumulate: true)
        }
    }

    /// Patch matrix of one sample: row (c, i, j), column (oy, ox) holds x[c, oy·sy − top + i, ox·sx − left + j],
    /// or 0 in the padding.
    static func im2col(_ x: UnsafePointer<Float>, _ g: ConvGeometry, into col: UnsafeMutablePointer<Float>, ld: Int? = nil) {
        let ld = ld ?? g.positions
        let h = g.input.height, w = g.input.width, oh = g.output.height, ow = g.output.width
        var row = 0
        for c in 0..<g.input.channels {
            let plane = x + c * h * w
            for i in 0..<g.kernelHeight {
                for j in 0..<g.kernelWidth {
                    let out = col + row * ld
                    let (first, end) = validRange(offset: j - g.padLeft, stride: g.strideX, outputs: ow, size: w)
                    for oy in 0..<oh {
                        let sy = oy * g.strideY - g.padTop + i
                        let line = out + oy * ow
                        guard sy >= 0 && sy < h, first < end else {
                            Kernels.fill(line, with: 0, count: ow)
                            continue
                        }
                        let source = plane + sy * w + (j - g.padLeft)
                        for ox in 0..<first { line[ox] = 0 }
                        if g.strideX == 1 {
                            // Rows are short (28 floats for MNIST): a plain loop beats a memmove call.
                            for ox in first..<end { line[ox] = source[ox] }
                        } else {
                            for ox in first..<end { line[ox] = source[ox * g.strideX] }
                        }
                        for ox in end..<ow { line[ox] = 0 }
                    }
                    row += 1
                }
            }
        }
    }

    /// The output columns ox whose input column ox·stride + offset lies in 0..<size, as first..<end.
    @inline(__always)
    static func validRange(offset: Int, stride: Int, outputs: Int, size: Int) -> (Int, Int) {
        // ox·stride + offset ≥ 0  ⇔  ox ≥ ⌈−offset / stride⌉;  ox·stride + offset < size  ⇔  ox < ⌈(size − offset) / stride⌉
        let first = offset >= 0 ? 0 : (-offset + stride - 1) / stride
        let end = size - offset <= 0 ? 0 : (size - offset + stride - 1) / stride
        return (min(first, outputs), min(max(end, 0), outputs))
    }

    /// The adjoint of im2col: adds each patch entry back to the input position it came from.
    /// Overwrites `dx` (one sample).
    static func col2im(_ col: UnsafePointer<Float>, _ g: ConvGeometry, ld: Int? = nil, into dx: UnsafeMutablePointer<Float>) {
        let ld = ld ?? g.positions
        let h = g.input.height, w = g.input.width, oh = g.output.height, ow = g.output.width
        Kernels.fill(dx, with: 0, count: g.input.count)
        var row = 0
        for c in 0..<g.input.channels {
            let plane = dx + c * h * w
            for i in 0..<g.kernelHeight {
                for j in 0..<g.kernelWidth {
                    let source = col + row * ld
                    let (first, end) = validRange(offset: j - g.padLeft, stride: g.strideX, outputs: ow, size: w)
                    for oy in 0..<oh where first < end {
                        let sy = oy * g.strideY - g.padTop + i
                        guard sy >= 0 && sy < h else { continue }
                        let target = plane + sy * w + (j - g.padLeft)
                        let line = source + oy * ow
                        if g.strideX == 1 {
                            Kernels.add(target + first, line + first, into: target + first, count: end - first)
                        } else {
                            for ox in first..<end { target[ox * g.strideX] += line[ox] }
                        }
                    }
                    row += 1
                }
            }
        }
    }
}
