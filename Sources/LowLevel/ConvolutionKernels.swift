/// Single-sample convolution kernels shared by training and the C runtime (so both give identical
/// outputs), and the im2col / col2im pair behind the GEMM path.
public enum Convolution {
    /// Whether single-sample inference vectorises across filters, with weights transposed to
    /// [taps, filters]: with 16 filters or more, all vector lanes carry filters (LeNet's second
    /// convolution); with fewer, the row-vectorised loop wastes fewer lanes.
    public static func usesTransposedWeights(_ g: ConvGeometry) -> Bool {
        DirectConvolution.applies(to: g) && g.output.channels >= 16
    }

    /// Whether the direct loops read the input where it is, without a padded copy: the
    /// across-filters kernels read single values inside the planes only, so an unpadded input
    /// needs no slack (LeNet's second convolution).
    public static func readsInputInPlace(_ g: ConvGeometry) -> Bool {
        usesTransposedWeights(g) && g.padTop == 0 && g.padLeft == 0
            && DirectConvolution.paddedHeight(g) == g.input.height && DirectConvolution.paddedWidth(g) == g.input.width
    }

    /// Floats of scratch `forwardOne` needs for this geometry.
    public static func scratchForOne(_ g: ConvGeometry) -> Int {
        guard DirectConvolution.applies(to: g) else { return g.patch * g.positions }
        return DirectConvolution.paddedCount(g) + (usesTransposedWeights(g) ? DirectConvolution.transposedWeightCount(g) : 0)
    }

    /// One sample without BLAS: direct loops over a padded copy for stride 1, otherwise im2col
    /// into `scratch` and a vector-matrix product per filter (b + Σₖ W[f, k] · col[k, :]).
    /// `scratch` holds `scratchForOne(g)` floats.
    /// `transposed`, for geometries where `usesTransposedWeights`, may hold the weights already
    /// laid out by `DirectConvolution.transposeWeights` (the runtime does that once at open);
    /// otherwise they are transposed into the scratch on every call.
    public static func forwardOne(_ x: UnsafePointer<Float>, _ g: ConvGeometry, weight: UnsafePointer<Float>, bias: UnsafePointer<Float>,
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
    public static func im2col(_ x: UnsafePointer<Float>, _ g: ConvGeometry, into col: UnsafeMutablePointer<Float>, ld: Int? = nil) {
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
    public static func validRange(offset: Int, stride: Int, outputs: Int, size: Int) -> (Int, Int) {
        // ox·stride + offset ≥ 0  ⇔  ox ≥ ⌈−offset / stride⌉;  ox·stride + offset < size  ⇔  ox < ⌈(size − offset) / stride⌉
        let first = offset >= 0 ? 0 : (-offset + stride - 1) / stride
        let end = size - offset <= 0 ? 0 : (size - offset + stride - 1) / stride
        return (min(first, outputs), min(max(end, 0), outputs))
    }

    /// The adjoint of im2col: adds each patch entry back to the input position it came from.
    /// Overwrites `dx` (one sample).
    public static func col2im(_ col: UnsafePointer<Float>, _ g: ConvGeometry, ld: Int? = nil, into dx: UnsafeMutablePointer<Float>) {
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
