import LowLevel

/// 2-D convolution (cross-correlation, as in every framework) of x [batch, C, H, W] with W
/// [F, C, kh, kw] and bias b [F], giving [batch, F, OH, OW].
///
/// Arguments: `geometry` = [strideY, strideX, padTop, padLeft, OH, OW] (padding beyond the
/// top/left values is implied by the output size, which is how "same" padding is stored);
/// `algorithm` 0 (the default: direct loops for stride 1, measured faster at LeNet sizes,
/// im2col + GEMM otherwise), 1 (im2col) or 2 (direct); `relu` = 1 applies max(x, 0) to each
/// sample's output while it is in cache (the conv → ReLU → max-pool fusion pass sets it).
/// A single sample in inference takes `Convolution.forwardOne`, the C runtime's path.
enum Conv2D: Operator {
    enum Algorithm: Int { case im2col = 1, direct = 2 }

    static func geometry(_ inputs: [TensorType], _ attributes: Attributes) throws(ShapeError) -> ConvGeometry {
        guard inputs.count == 3 else { throw ShapeError("takes x, weight and bias, got \(inputs.count) inputs") }
        let x = inputs[0], w = inputs[1], b = inputs[2]
        guard x.element == .float32, x.isBatched, x.shape.count == 3 else { throw ShapeError("x must be float32 [batch, C, H, W]") }
        guard !w.isBatched, w.shape.count == 4, w.shape[1] == x.shape[0] else {
            throw ShapeError("weight must be [filters, \(x.shape[0]), kh, kw]")
        }
        guard !b.isBatched, b.shape == [w.shape[0]] else { throw ShapeError("bias must be [\(w.shape[0])]") }
        let g = attributes.ints("geometry")
        guard g.count == 6 else { throw ShapeError("geometry must be [strideY, strideX, padTop, padLeft, outH, outW]") }
        let (kh, kw) = (w.shape[2], w.shape[3])
        guard g[0] > 0, g[1] > 0, g[2] >= 0, g[2] < kh, g[3] >= 0, g[3] < kw, g[4] > 0, g[5] > 0,
              (g[4] - 1) * g[0] - g[2] < x.shape[1], (g[5] - 1) * g[1] - g[3] < x.shape[2],
              g[4] <= x.shape[1] + kh, g[5] <= x.shape[2] + kw else {
            throw ShapeError("geometry \(g) does not fit a \(kh)x\(kw) kernel on \(x.shape[1])x\(x.shape[2])")
        }
        let input = Shape3(channels: x.shape[0], height: x.shape[1], width: x.shape[2])
        return ConvGeometry(input: input, output: Shape3(channels: w.shape[0], height: g[4], width: g[5]),
                            kernelHeight: kh, kernelWidth: kw, strideY: g[0], strideX: g[1], padTop: g[2], padLeft: g[3])
    }

    static func algorithm(_ g: ConvGeometry, _ attributes: Attributes) -> Algorithm {
        switch attributes.int("algorithm") {
        case 1: .im2col
        case 2 where DirectConvolution.applies(to: g): .direct
        default: DirectConvolution.applies(to: g) ? .direct : .im2col
        }
    }

    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        let g = try geometry(inputs, attributes)
        guard (0...2).contains(attributes.int("algorithm")) else { throw ShapeError("algorithm must be 0, 1 or 2") }
        if attributes.int("algorithm") == 2, !DirectConvolution.applies(to: g) { throw ShapeError("direct convolution needs stride 1") }
        return [TensorType([g.output.channels, g.output.height, g.output.width], batched: true)]
    }

    /// Buffer indices (see `buffers`).
    private enum Slot: Int {
        case columns, columnGradient, paddedGradients, flippedWeights, paddedOutputGradient, zeroBias, transposedWeights,
             transposedGradients, weightGradientPartial, weightGradientScratch, inputGradientScratch
    }

    static func buffers(inputs: [TensorType], outputs: [TensorType], attributes: Attributes, maxBatch: Int) -> [BufferRequest] {
        let g = try! geometry(inputs, attributes)
        let direct = algorithm(g, attributes) == .direct
        let across = direct && Convolution.usesTransposedWeights(g)
        let columns = max(maxBatch * (direct ? DirectConvolution.paddedCount(g) : g.patch * g.positions), Convolution.scratchForOne(g))
        let paddedGradients = !direct || across || DirectConvolution.readsGradientInPlace(g) ? 0 : maxBatch * DirectConvolution.gradientCount(g)
        return [
            .floats(.saved, columns),
            .floats(.backward, direct ? DirectConvolution.paddedCount(g) : g.patch * g.positions),
            .floats(.backward, paddedGradients),
            .floats(.backward, direct ? g.output.channels * g.patch : 0),
            // Only its interior is ever written (`DirectConvolution.inputGradient`): zero once, never shared.
            .floats(.backwardState, direct ? DirectConvolution.paddedCount(DirectConvolution.gradientGeometry(g)) : 0),
            .floats(.backwardState, direct ? g.input.channels : 0),
            .floats(.forward, across ? DirectConvolution.transposedWeightCount(g) : 0),
            .floats(.backward, across ? maxBatch * DirectConvolution.transposedGradientCount(g) : 0),
            .floats(.backward, !direct ? 0 : across ? DirectConvolution.acrossFiltersPartialCount(g) : DirectConvolution.rowPartialCount(g)),
            .floats(.backward, g.output.channels * g.patch),
            .floats(.backward, g.input.count),
        ]
    }

    static var overwritesGradients: Bool { true }

    @inline(__always) private static func buffer(_ node: NodeRun, _ slot: Slot) -> UnsafeMutablePointer<Float> {
        node.floatBuffer(slot.rawValue)
    }

    static func forward(_ node: NodeRun) {
        let g = try! geometry(node.inputTypes, node.attributes)
        let x = node.input(0), weight = node.input(1), bias = node.input(2), y = node.output(0)
        let inCount = g.input.count, outCount = g.output.count, relu = node.attributes.int("relu") != 0
        let columns = buffer(node, .columns)
        if node.rows == 1 && !node.isTraining {
            Convolution.forwardOne(x, g, weight: weight, bias: bias, scratch: columns, into: y)
            if relu { Kernels.relu(y, into: y, count: outCount) }
            return
        }
        switch algorithm(g, node.attributes) {
        case .direct:
            let acrossFilters = Convolution.usesTransposedWeights(g), inPlace = Convolution.readsInputInPlace(g)
            let transposed = buffer(node, .transposedWeights)
            if acrossFilters { DirectConvolution.transposeWeights(weight, g, into: transposed) }
            for n in 0..<node.rows {
                let padded: UnsafePointer<Float>
                if inPlace {
                    padded = UnsafePointer(x + n * inCount)
                } else {
                    let copy = columns + n * DirectConvolution.paddedCount(g)
                    DirectConvolution.pad(x + n * inCount, g, into: copy)
                    padded = UnsafePointer(copy)
                }
                let out = y + n * outCount
                if acrossFilters {
                    DirectConvolution.forwardAcrossFilters(padded: padded, g, transposedWeight: transposed, bias: bias, into: out)
                } else {
                    DirectConvolution.forward(padded: padded, g, weight: weight, bias: bias, into: out)
                }
                if relu { Kernels.relu(out, into: out, count: outCount) }
            }
        case .im2col:
            // One GEMM per sample: measured faster at LeNet sizes than one over the whole batch
            // (OpenBLAS handles F × B·P with F = 6 poorly).
            let k = g.patch, p = g.positions
            for n in 0..<node.rows {
                let col = columns + n * k * p, out = y + n * outCount
                Convolution.im2col(x + n * inCount, g, into: col)
                for filter in 0..<g.output.channels { Kernels.fill(out + filter * p, with: bias[filter], count: p) }
                Kernels.gemm(.none, .none, m: g.output.channels, n: p, k: k, alpha: 1, a: weight, lda: k,
                             b: col, ldb: p, beta: 1, c: out, ldc: p)
                if relu { Kernels.relu(out, into: out, count: outCount) }
            }
        }
    }

    static func backward(_ node: NodeRun) {
        guard let dy = node.outputGradient(0) else { return }
        let g = try! geometry(node.inputTypes, node.attributes)
        let k = g.patch, p = g.positions, f = g.output.channels, rows = node.rows
        let inCount = g.input.count, outCount = g.output.count
        let x = node.input(0), weight = node.input(1), columns = buffer(node, .columns)
        if let db = node.inputGradient(2) {
            if node.overwrites(2) { Kernels.fill(db, with: 0, count: f) }
            for n in 0..<rows {
                for filter in 0..<f { db[filter] += Kernels.sum(dy + n * outCount + filter * p, count: p) }
            }
        }
        let dwTarget = node.inputGradient(1).map { node.overwrites(1) ? $0 : buffer(node, .weightGradientScratch) }
        let dx = node.inputGradient(0), overwriteX = node.overwrites(0)
        let dxScratch = buffer(node, .inputGradientScratch)
        switch algorithm(g, node.attributes) {
        case .direct:
            if let dw = dwTarget {
                let partial = buffer(node, .weightGradientPartial)
                if Convolution.usesTransposedWeights(g) {
                    let stride = DirectConvolution.transposedGradientCount(g), transposed = buffer(node, .transposedGradients)
                    for n in 0..<rows { DirectConvolution.transposeGradient(dy + n * outCount, g, into: transposed + n * stride) }
                    let inPlace = Convolution.readsInputInPlace(g)
                    DirectConvolution.weightGradientAcrossFilters(padded: inPlace ? x : columns,
                                                                  sampleStride: inPlace ? inCount : DirectConvolution.paddedCount(g),
                                                                  gradients: transposed, batch: rows, g, partial: partial, into: dw)
                } else {
                    var gradients = UnsafePointer(dy)
                    if !DirectConvolution.readsGradientInPlace(g) {
                        let stride = DirectConvolution.gradientCount(g), padded = buffer(node, .paddedGradients)
                        for n in 0..<rows { DirectConvolution.padGradient(dy + n * outCount, g, into: padded + n * stride) }
                        gradients = UnsafePointer(padded)
                    }
                    DirectConvolution.weightGradient(padded: columns, gradients: gradients, batch: rows, g, partial: partial, into: dw)
                }
            }
            if let dx {
                let flipped = buffer(node, .flippedWeights)
                DirectConvolution.flipWeights(weight, g, into: flipped)
                for n in 0..<rows {
                    let target = overwriteX ? dx + n * inCount : dxScratch
                    DirectConvolution.inputGradient(outputGradient: dy + n * outCount, g, flipped: flipped,
                                                    zeroBias: buffer(node, .zeroBias), paddedGradient: buffer(node, .paddedOutputGradient),
                                                    plane: buffer(node, .columnGradient), into: target)
                    if !overwriteX { Kernels.add(dx + n * inCount, dxScratch, into: dx + n * inCount, count: inCount) }
                }
            }
        case .im2col:
            let columnGradient = buffer(node, .columnGradient)
            for n in 0..<rows {
                let gn = dy + n * outCount
                if let dw = dwTarget { // dW (+)= dY_n · col_nᵀ
                    Kernels.gemm(.none, .transposed, m: f, n: k, k: p, alpha: 1, a: gn, lda: p, b: columns + n * k * p, ldb: p,
                                 beta: n == 0 ? 0 : 1, c: dw, ldc: k)
                }
                if let dx { // dcol = Wᵀ · dY_n, then scattered back onto the input positions.
                    Kernels.gemm(.transposed, .none, m: k, n: p, k: f, alpha: 1, a: weight, lda: k, b: gn, ldb: p,
                                 beta: 0, c: columnGradient, ldc: p)
                    let target = overwriteX ? dx + n * inCount : dxScratch
                    Convolution.col2im(columnGradient, g, into: target)
                    if !overwriteX { Kernels.add(dx + n * inCount, dxScratch, into: dx + n * inCount, count: inCount) }
                }
            }
        }
        if let dw = node.inputGradient(1), !node.overwrites(1) {
            Kernels.add(dw, buffer(node, .weightGradientScratch), into: dw, count: f * k)
        }
    }
}

extension GraphBuilder {
    /// A convolution with new parameters `name.weight` [filters, C, kh, kw] and `name.bias`
    /// [filters], laid out by `spec` (explicit or "same" padding, strides).
    public func conv2d(_ x: ValueID, _ spec: Conv2DSpec, name: String, algorithm: Int = 0) throws(GraphError) -> ValueID {
        let shape = type(of: x).shape
        guard shape.count == 3, let g = spec.geometry(input: Shape3(channels: shape[0], height: shape[1], width: shape[2])) else {
            throw GraphError("node '\(name)' (conv2d) cannot take input \(type(of: x)): the kernel does not fit")
        }
        let w = parameter("\(name).weight", shape: [spec.filters, shape[0], spec.kernelHeight, spec.kernelWidth])
        let b = parameter("\(name).bias", shape: [spec.filters])
        let geometry = [g.strideY, g.strideX, g.padTop, g.padLeft, g.output.height, g.output.width]
        var attributes = Attributes(["geometry": .ints(geometry)])
        if algorithm != 0 { attributes["algorithm"] = .int(algorithm) }
        return try apply1(.conv2d, [x, w, b], attributes: attributes, name: name)
    }
}
