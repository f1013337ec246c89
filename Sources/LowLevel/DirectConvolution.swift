
/// Stride-1 convolution as direct SIMD loops, the alternative to im2col + GEMM. Each sample is
/// first copied into a zero-padded plane per channel, with 16 floats of slack at the end, so every
/// output row is computed 16 columns at a time with unaligned loads and no bounds checks (lanes
/// past the row read padding or the next row and are discarded). Output gradients are copied
/// into rows padded with zeros to a multiple of 16, so the weight and input gradients can use
/// whole vectors too.
///
/// Measured against im2col + GEMM at LeNet sizes (see the issue note); the faster one is what
/// `Conv2D` uses for stride 1.
public enum DirectConvolution {
    /// Floats in one padded sample: C planes of (oh + kh − 1) × (ow + kw − 1), plus slack.
    public static func paddedCount(_ g: ConvGeometry) -> Int {
        g.input.channels * paddedHeight(g) * paddedWidth(g) + 16
    }
    public static func paddedHeight(_ g: ConvGeometry) -> Int { g.output.height + g.kernelHeight - 1 }
    public static func paddedWidth(_ g: ConvGeometry) -> Int { g.output.width + g.kernelWidth - 1 }
    /// Output row length rounded up to whole vectors.
    public static func rowStride(_ g: ConvGeometry) -> Int { (g.output.width + 15) & ~15 }
    /// Floats in one sample's padded output gradient.
    public static func gradientCount(_ g: ConvGeometry) -> Int { g.output.channels * g.output.height * rowStride(g) }

    public static func applies(to g: ConvGeometry) -> Bool { g.strideY == 1 && g.strideX == 1 }

    /// Copies one sample into the data rows and columns of its padded layout, leaving the
    /// padding as it is (zero in a buffer that only ever receives samples this way).
    public static func copyInterior(_ x: UnsafePointer<Float>, _ g: ConvGeometry, into p: UnsafeMutablePointer<Float>) {
        let hp = paddedHeight(g), wp = paddedWidth(g), h = g.input.height, w = g.input.width
        let count = min(w, wp - g.padLeft)
        for c in 0..<g.input.channels {
            for y in 0..<min(h, hp - g.padTop) {
                let source = x + (c &* h &+ y) &* w, target = p + ((c &* hp &+ y &+ g.padTop) &* wp &+ g.padLeft)
                for i in 0..<count { target[i] = source[i] }
            }
        }
    }

    /// Copies one sample into its zero-padded layout.
    public static func pad(_ x: UnsafePointer<Float>, _ g: ConvGeometry, into p: UnsafeMutablePointer<Float>) {
        Kernels.fill(p, with: 0, count: paddedCount(g))
        copyInterior(x, g, into: p)
    }

    /// y = b + W ∗ x for one padded sample, vectorised along output rows (16 columns at a time).
    /// Six filters at a time share each input load and give six independent FMA chains (one chain
    /// alone waits on FMA latency); six accumulators fit the 16 vector registers of AVX2 even
    /// when a SIMD16 takes two of them. Kernel rows that fall on the padding rows above and below
    /// the data are skipped (they would add zeros: half the work of the input gradient's full
    /// correlation). With rows of 16 or more, a row's last block is moved back to end at the
    /// row's end, so every store is a whole vector (a few columns are computed twice).
    public static func forward(padded p: UnsafePointer<Float>, _ g: ConvGeometry, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        // A constant kernel width unrolls the innermost loop completely.
        #if WIDE_VECTOR_REGISTERS
        switch g.kernelWidth {
        case 5: forwardRowPairs(padded: p, g, kernelWidth: 5, weight: weight, bias: bias, into: y)
        case 3: forwardRowPairs(padded: p, g, kernelWidth: 3, weight: weight, bias: bias, into: y)
        default: forwardRowPairs(padded: p, g, kernelWidth: g.kernelWidth, weight: weight, bias: bias, into: y)
        }
        #else
        switch g.kernelWidth {
        case 5: forwardRows(padded: p, g, kernelWidth: 5, weight: weight, bias: bias, into: y)
        case 3: forwardRows(padded: p, g, kernelWidth: 3, weight: weight, bias: bias, into: y)
        default: forwardRows(padded: p, g, kernelWidth: g.kernelWidth, weight: weight, bias: bias, into: y)
        }
        #endif
    }

    #if WIDE_VECTOR_REGISTERS
    /// `forwardRows` for AVX-512's 32 registers: two blocks of 16 outputs at a time (the next
    /// block along the row, or the next row's) share each weight broadcast, 12 FMA chains. Their
    /// kernel rows run over the union of the two blocks' data rows (the padding rows add zeros).
    @inline(__always)
    private static func forwardRowPairs(padded p: UnsafePointer<Float>, _ g: ConvGeometry, kernelWidth kw: Int,
                                        weight: UnsafePointer<Float>, bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let hp = paddedHeight(g), wp = paddedWidth(g), oh = g.output.height, ow = g.output.width
        let kh = g.kernelHeight, channels = g.input.channels, filters = g.output.channels
        let taps = channels * kh * kw, rows = dataRows(g)
        let perRow = (ow + 15) / 16, blocks = oh * perRow
        // Block b: output row b / perRow, columns from `start`; a row's last block ends at the row's end.
        @inline(__always) func block(_ b: Int) -> (oy: Int, cs: Int) {
            let oy = b / perRow, cs = (b % perRow) * 16
            return (oy, cs + 16 > ow && ow >= 16 ? ow - 16 : cs)
        }
        var f0 = 0
        while f0 < filters {
            let ((f1, f2, f3, f4, f5), (w0, w1, w2, w3, w4, w5)) = sixFilterBlock(f0, filters: filters, weight: weight, taps: taps)
            var b = 0
            while b < blocks {
                // An odd last block is paired with itself; it is stored once.
                let first = block(b), second = block(min(b + 1, blocks - 1))
                let firstRow = max(0, rows.lowerBound - second.oy)
                let endRow = max(firstRow, min(kh, rows.upperBound - first.oy))
                var a0 = SIMD16<Float>(repeating: bias[f0]), a1 = SIMD16<Float>(repeating: bias[f1])
                var a2 = SIMD16<Float>(repeating: bias[f2]), a3 = SIMD16<Float>(repeating: bias[f3])
                var a4 = SIMD16<Float>(repeating: bias[f4]), a5 = SIMD16<Float>(repeating: bias[f5])
                var c0 = a0, c1 = a1, c2 = a2, c3 = a3, c4 = a4, c5 = a5
                for c in 0..<channels {
                    let plane = p + c &* hp &* wp
                    for i in firstRow..<endRow {
                        let rowA = plane + ((first.oy &+ i) &* wp &+ first.cs), rowB = plane + ((second.oy &+ i) &* wp &+ second.cs)
                        let tap = (c &* kh &+ i) &* kw
                        for j in 0..<kw {
                            let u = load16(rowA + j), v = load16(rowB + j)
                            let s0 = SIMD16<Float>(repeating: w0[tap &+ j]), s1 = SIMD16<Float>(repeating: w1[tap &+ j])
                            let s2 = SIMD16<Float>(repeating: w2[tap &+ j]), s3 = SIMD16<Float>(repeating: w3[tap &+ j])
                            let s4 = SIMD16<Float>(repeating: w4[tap &+ j]), s5 = SIMD16<Float>(repeating: w5[tap &+ j])
                            a0.addProduct(s0, u); c0.addProduct(s0, v)
                            a1.addProduct(s1, u); c1.addProduct(s1, v)
                            a2.addProduct(s2, u); c2.addProduct(s2, v)
                            a3.addProduct(s3, u); c3.addProduct(s3, v)
                            a4.addProduct(s4, u); c4.addProduct(s4, v)
                            a5.addProduct(s5, u); c5.addProduct(s5, v)
                        }
                    }
                }
                @inline(__always) func put(_ acc: SIMD16<Float>, _ k: Int, _ at: (oy: Int, cs: Int)) {
                    guard f0 + k < filters else { return }
                    let count = min(16, ow - at.cs)
                    let out = y + ((f0 + k) * oh + at.oy) * ow + at.cs
                    if count == 16 { store16(acc, out) } else { for l in 0..<count { out[l] = acc[l] } }
                }
                put(a0, 0, first); put(a1, 1, first); put(a2, 2, first); put(a3, 3, first); put(a4, 4, first); put(a5, 5, first)
                if b + 1 < blocks {
                    put(c0, 0, second); put(c1, 1, second); put(c2, 2, second); put(c3, 3, second); put(c4, 4, second); put(c5, 5, second)
                }
                b += 2
            }
            f0 += 6
        }
    }
    #endif

    /// A block of six filters from `f0`: the other five filter indices (a short last block
    /// repeats its last filter, computed but never stored) and the six filters' weight rows.
    @inline(__always)
    private static func sixFilterBlock(_ f0: Int, filters: Int, weight: UnsafePointer<Float>, taps: Int)
        -> ((Int, Int, Int, Int, Int), (UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>,
                                        UnsafePointer<Float>, UnsafePointer<Float>, UnsafePointer<Float>)) {
        let f1 = min(f0 + 1, filters - 1), f2 = min(f0 + 2, filters - 1), f3 = min(f0 + 3, filters - 1)
        let f4 = min(f0 + 4, filters - 1), f5 = min(f0 + 5, filters - 1)
        return ((f1, f2, f3, f4, f5),
                (weight + f0 * taps, weight + f1 * taps, weight + f2 * taps, weight + f3 * taps, weight + f4 * taps, weight + f5 * taps))
    }

    /// The padded rows that hold data: [padTop, padTop + input height), within the padded plane.
    public static func dataRows(_ g: ConvGeometry) -> Range<Int> {
        min(g.padTop, paddedHeight(g))..<min(g.padTop + g.input.height, paddedHeight(g))
    }

    @inline(__always)
    private static func forwardRows(padded p: UnsafePointer<Float>, _ g: ConvGeometry, kernelWidth kw: Int, weight: UnsafePointer<Float>,
                                    bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let hp = paddedHeight(g), wp = paddedWidth(g), oh = g.output.height, ow = g.output.width
        let kh = g.kernelHeight, channels = g.input.channels, filters = g.output.channels
        let taps = channels * kh * kw, rows = dataRows(g)
        var f0 = 0
        while f0 < filters {
            let ((f1, f2, f3, f4, f5), (w0, w1, w2, w3, w4, w5)) = sixFilterBlock(f0, filters: filters, weight: weight, taps: taps)
            for oy in 0..<oh {
                let firstRow = max(0, rows.lowerBound - oy), endRow = max(firstRow, min(kh, rows.upperBound - oy))
                var cs = 0
                while cs < ow {
                    if cs + 16 > ow && ow >= 16 { cs = ow - 16 }
                    var a0 = SIMD16<Float>(repeating: bias[f0]), a1 = SIMD16<Float>(repeating: bias[f1])
                    var a2 = SIMD16<Float>(repeating: bias[f2]), a3 = SIMD16<Float>(repeating: bias[f3])
                    var a4 = SIMD16<Float>(repeating: bias[f4]), a5 = SIMD16<Float>(repeating: bias[f5])
                    for c in 0..<channels {
                        let plane = p + (c &* hp &* wp &+ cs)
                        for i in firstRow..<endRow {
                            let row = plane + (oy &+ i) &* wp
                            let tap = (c &* kh &+ i) &* kw
                            for j in 0..<kw {
                                let v = load16(row + j)
                                a0.addProduct(SIMD16(repeating: w0[tap &+ j]), v)
                                a1.addProduct(SIMD16(repeating: w1[tap &+ j]), v)
                                a2.addProduct(SIMD16(repeating: w2[tap &+ j]), v)
                                a3.addProduct(SIMD16(repeating: w3[tap &+ j]), v)
                                a4.addProduct(SIMD16(repeating: w4[tap &+ j]), v)
                                a5.addProduct(SIMD16(repeating: w5[tap &+ j]), v)
                            }
                        }
                    }
                    let count = min(16, ow - cs)
                    @inline(__always) func put(_ acc: SIMD16<Float>, _ k: Int) {
                        guard f0 + k < filters else { return }
                        let out = y + ((f0 + k) * oh + oy) * ow + cs
                        if count == 16 { store16(acc, out) } else { for l in 0..<count { out[l] = acc[l] } }
                    }
                    put(a0, 0); put(a1, 1); put(a2, 2); put(a3, 3); put(a4, 4); put(a5, 5)
                    cs += 16
                }
            }
            f0 += 6
        }
    }

    /// Filters rounded up to whole vectors (the transposed weights' row length).
    public static func filterStride(_ g: ConvGeometry) -> Int { (g.output.channels + 15) & ~15 }
    /// Floats of transposed weights: one row of `filterStride` per tap.
    public static func transposedWeightCount(_ g: ConvGeometry) -> Int { g.patch * filterStride(g) }

    /// A per-filter array m [F, n] as [n, filterStride] with zeros past the last filter, so one
    /// vector load gives the 16 filters' values of one column: weights (n = taps) and output
    /// gradients (n = positions) for the across-filters kernels.
    public static func transposeAcrossFilters(_ m: UnsafePointer<Float>, columns n: Int, _ g: ConvGeometry,
                                       into t: UnsafeMutablePointer<Float>) {
        let filters = g.output.channels, stride = filterStride(g)
        // Reads run along each filter's row; the writes, `stride` apart, stay within L1.
        for f in 0..<filters {
            let source = m + f &* n, target = t + f
            for column in 0..<n { target[column &* stride] = source[column] }
        }
        if filters < stride {
            for column in 0..<n {
                for f in filters..<stride { t[column &* stride &+ f] = 0 }
            }
        }
    }

    /// W [F, taps] as [taps, filterStride].
    public static func transposeWeights(_ w: UnsafePointer<Float>, _ g: ConvGeometry, into t: UnsafeMutablePointer<Float>) {
        transposeAcrossFilters(w, columns: g.patch, g, into: t)
    }

    /// y = b + W ∗ x for one padded sample, vectorised across filters: each tap's weights for 16
    /// filters are one vector, multiplied by the broadcast input value of several output positions
    /// at once (independent FMA chains sharing one weight load). Unlike the row-vectorised loop, no
    /// lanes are lost to short output rows (LeNet's second convolution has rows of 10).
    public static func forwardAcrossFilters(padded p: UnsafePointer<Float>, _ g: ConvGeometry, transposedWeight wt: UnsafePointer<Float>,
                                     bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        #if WIDE_VECTOR_REGISTERS
        if g.output.width >= 10 { forwardRowSegments10(padded: p, g, transposedWeight: wt, bias: bias, into: y); return }
        #endif
        if g.output.width >= 5 {
            forwardRowSegments5(padded: p, g, transposedWeight: wt, bias: bias, into: y)
        } else {
            forwardRowSegments1(padded: p, g, transposedWeight: wt, bias: bias, into: y)
        }
    }

    // One specialisation per segment length (constant accumulator count), each specialised again
    // per kernel width (`forwardRowSegments(kernelWidthOf:)`).
    @inline(never)
    private static func forwardRowSegments1(padded p: UnsafePointer<Float>, _ g: ConvGeometry, transposedWeight wt: UnsafePointer<Float>,
                                            bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        forwardRowSegments(kernelWidthOf: p, g, positions: 1, transposedWeight: wt, bias: bias, into: y)
    }

    @inline(never)
    private static func forwardRowSegments5(padded p: UnsafePointer<Float>, _ g: ConvGeometry, transposedWeight wt: UnsafePointer<Float>,
                                            bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        forwardRowSegments(kernelWidthOf: p, g, positions: 5, transposedWeight: wt, bias: bias, into: y)
    }

    #if WIDE_VECTOR_REGISTERS
    @inline(never)
    private static func forwardRowSegments10(padded p: UnsafePointer<Float>, _ g: ConvGeometry, transposedWeight wt: UnsafePointer<Float>,
                                             bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        forwardRowSegments(kernelWidthOf: p, g, positions: 10, transposedWeight: wt, bias: bias, into: y)
    }
    #endif

    @inline(__always)
    private static func forwardRowSegments(kernelWidthOf p: UnsafePointer<Float>, _ g: ConvGeometry, positions n: Int,
                                           transposedWeight wt: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                           into y: UnsafeMutablePointer<Float>) {
        switch g.kernelWidth {
        case 5: forwardRowSegments(padded: p, g, kernelWidth: 5, positions: n, transposedWeight: wt, bias: bias, into: y)
        case 3: forwardRowSegments(padded: p, g, kernelWidth: 3, positions: n, transposedWeight: wt, bias: bias, into: y)
        default: forwardRowSegments(padded: p, g, kernelWidth: g.kernelWidth, positions: n, transposedWeight: wt, bias: bias, into: y)
        }
    }

    /// The across-filters forward pass on segments of `n` (1, 5 or 10, ≤ the output width)
    /// adjacent outputs of one row: one input pointer, and neighbouring positions share input
    /// values (the value position k meets at tap j is the one position k + 1 meets at tap j − 1),
    /// so a row of kw taps loads n + kw − 1 broadcasts instead of n · kw. A row's last segment is
    /// moved back to end at the row's end (some positions are computed twice). Ten accumulators
    /// need AVX-512's 32 registers; five fit AVX2's 16; rows shorter than 5 go one position at a time.
    @inline(__always)
    private static func forwardRowSegments(padded p: UnsafePointer<Float>, _ g: ConvGeometry, kernelWidth kw: Int, positions n: Int,
                                           transposedWeight wt: UnsafePointer<Float>, bias: UnsafePointer<Float>,
                                           into y: UnsafeMutablePointer<Float>) {
        let hp = paddedHeight(g), wp = paddedWidth(g), oh = g.output.height, ow = g.output.width
        let kh = g.kernelHeight, channels = g.input.channels, filters = g.output.channels
        let stride = filterStride(g), positions = oh * ow
        var f0 = 0
        while f0 < filters {
            var b = SIMD16<Float>()
            for l in 0..<min(16, filters - f0) { b[l] = bias[f0 + l] }
            for oy in 0..<oh {
                var ox = 0
                while ox < ow {
                    if ox + n > ow { ox = ow - n }
                    let base = p + (oy &* wp &+ ox)
                    var a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b, a8 = b, a9 = b
                    var weights = wt + f0
                    for c in 0..<channels {
                        for i in 0..<kh {
                            let row = base + (c &* hp &* wp &+ i &* wp)
                            for j in 0..<kw {
                                let x = row + j, w = load16(weights + j &* stride)
                                a0.addProduct(SIMD16(repeating: x[0]), w)
                                if n > 1 {
                                    a1.addProduct(SIMD16(repeating: x[1]), w)
                                    a2.addProduct(SIMD16(repeating: x[2]), w)
                                    a3.addProduct(SIMD16(repeating: x[3]), w)
                                    a4.addProduct(SIMD16(repeating: x[4]), w)
                                }
                                if n > 5 {
                                    a5.addProduct(SIMD16(repeating: x[5]), w)
                                    a6.addProduct(SIMD16(repeating: x[6]), w)
                                    a7.addProduct(SIMD16(repeating: x[7]), w)
                                    a8.addProduct(SIMD16(repeating: x[8]), w)
                                    a9.addProduct(SIMD16(repeating: x[9]), w)
                                }
                            }
                            weights += kw &* stride
                        }
                    }
                    // Through a block on the stack: taking lanes out of a register one at a time
                    // costs a whole-vector spill each.
                    var block = (a0, a1, a2, a3, a4, a5, a6, a7, a8, a9)
                    let lanes = min(16, filters - f0), out = y + (f0 &* positions &+ oy &* ow &+ ox)
                    withUnsafeBytes(of: &block) { bytes in
                        let values = bytes.baseAddress!.assumingMemoryBound(to: Float.self)
                        for l in 0..<lanes {
                            for k in 0..<n { out[l &* positions &+ k] = values[k &* 16 &+ l] }
                        }
                    }
                    ox += n
                }
            }
            f0 += 16
        }
    }

    /// Floats of the output gradients laid out for `weightGradientAcrossFilters`: per sample,
    /// one row of `filterStride` per output position.
    public static func transposedGradientCount(_ g: ConvGeometry) -> Int { g.output.spatial * filterStride(g) }

    /// One sample's output gradient [F, positions] as [positions, filterStride].
    public static func transposeGradient(_ dy: UnsafePointer<Float>, _ g: ConvGeometry, into t: UnsafeMutablePointer<Float>) {
        transposeAcrossFilters(dy, columns: g.output.spatial, g, into: t)
    }

    /// Floats of the per-tap partial sums `weightGradientAcrossFilters` keeps: one vector of
    /// `filterStride` per tap.
    public static func acrossFiltersPartialCount(_ g: ConvGeometry) -> Int { transposedWeightCount(g) }

    /// dW = Σ over the batch of dY ∗ x, vectorised across filters (16 a vector): for six taps at a
    /// time, each output position's gradient vector (one load) meets the six broadcast inputs it
    /// multiplies, six independent FMA chains. For LeNet's second convolution this uses every lane
    /// (16 filters), where the row-vectorised `weightGradient` wastes 6 of 16 on rows of 10.
    /// Samples are the outer loop, so each sample's input and gradient stay in L1 while every tap
    /// meets them (tap-outer order streamed the whole batch from L2 once per six taps); the sums
    /// carry over between samples in `partial` ([taps, filterStride], `acrossFiltersPartialCount`).
    /// `padded` holds the batch's padded samples `sampleStride` floats apart; `gradients` holds
    /// each sample's `transposeGradient`, `transposedGradientCount` floats apart.
    public static func weightGradientAcrossFilters(padded: UnsafePointer<Float>, sampleStride sampleIn: Int, gradients: UnsafePointer<Float>,
                                            batch: Int, _ g: ConvGeometry, partial: UnsafeMutablePointer<Float>,
                                            into dw: UnsafeMutablePointer<Float>) {
        let hp = paddedHeight(g), wp = paddedWidth(g), oh = g.output.height, ow = g.output.width
        let kh = g.kernelHeight, kw = g.kernelWidth, filters = g.output.channels
        let taps = g.patch, stride = filterStride(g), sampleGrad = transposedGradientCount(g)
        @inline(__always) func offset(_ tap: Int) -> Int {
            let t = min(tap, taps - 1), c = t / (kh * kw), i = (t / kw) % kh, j = t % kw
            return (c * hp + i) * wp + j
        }
        Kernels.fill(partial, with: 0, count: taps * stride)
        #if WIDE_VECTOR_REGISTERS
        let sliding = kw == 5
        if sliding {
            weightGradientSlidingRows(padded: padded, sampleStride: sampleIn, gradients: gradients, batch: batch, g, partial: partial)
        }
        #else
        let sliding = false
        #endif
        // Six taps at a time, unless the sliding-row kernel above has already summed every tap.
        for n in 0..<batch where !sliding {
            let x = padded + n &* sampleIn
            var f0 = 0
            while f0 < filters {
                var t0 = 0
                while t0 < taps {
                    let o0 = offset(t0), o1 = offset(t0 + 1), o2 = offset(t0 + 2)
                    let o3 = offset(t0 + 3), o4 = offset(t0 + 4), o5 = offset(t0 + 5)
                    // Rows past the last tap are a short block's repeats: summed, never stored.
                    let sums = partial + (t0 &* stride &+ f0)
                    let last = min(5, taps - 1 - t0) &* stride
                    var a0 = load16(sums), a1 = load16(sums + min(stride, last)), a2 = load16(sums + min(2 &* stride, last))
                    var a3 = load16(sums + min(3 &* stride, last)), a4 = load16(sums + min(4 &* stride, last))
                    var a5 = load16(sums + last)
                    var dyRow = gradients + (n &* sampleGrad &+ f0)
                    for oy in 0..<oh {
                        let base = x + oy &* wp
                        for ox in 0..<ow {
                            let v = load16(dyRow)
                            dyRow += stride
                            let b = base + ox
                            a0.addProduct(SIMD16(repeating: b[o0]), v)
                            a1.addProduct(SIMD16(repeating: b[o1]), v)
                            a2.addProduct(SIMD16(repeating: b[o2]), v)
                            a3.addProduct(SIMD16(repeating: b[o3]), v)
                            a4.addProduct(SIMD16(repeating: b[o4]), v)
                            a5.addProduct(SIMD16(repeating: b[o5]), v)
                        }
                    }
                    let block = min(6, taps - t0)
                    store16(a0, sums)
                    if block > 1 { store16(a1, sums + stride) }
                    if block > 2 { store16(a2, sums + 2 &* stride) }
                    if block > 3 { store16(a3, sums + 3 &* stride) }
                    if block > 4 { store16(a4, sums + 4 &* stride) }
                    if block > 5 { store16(a5, sums + 5 &* stride) }
                    t0 += 6
                }
                f0 += 16
            }
        }
        for f in 0..<filters {
            for t in 0..<taps { dw[f * taps + t] = partial[t * stride + f] }
        }
    }

    #if WIDE_VECTOR_REGISTERS
    /// The across-filters weight gradient for 5-wide kernels on AVX-512: two kernel rows at a
    /// time, ten accumulators (taps (c, i, 0…4) and (c, i + 1, 0…4)). Along an output row the five
    /// inputs a position meets are the previous position's shifted by one, so each step loads one
    /// new broadcast per kernel row (kept in rotating registers) and one gradient vector for ten
    /// FMAs, instead of six broadcasts and a gradient vector for six. Adds into `partial`.
    private static func weightGradientSlidingRows(padded: UnsafePointer<Float>, sampleStride sampleIn: Int,
                                                  gradients: UnsafePointer<Float>, batch: Int, _ g: ConvGeometry,
                                                  partial: UnsafeMutablePointer<Float>) {
        let hp = paddedHeight(g), wp = paddedWidth(g), oh = g.output.height, ow = g.output.width
        let kh = g.kernelHeight, channels = g.input.channels, filters = g.output.channels
        let stride = filterStride(g), sampleGrad = transposedGradientCount(g)
        for n in 0..<batch {
            let x = padded + n &* sampleIn
            var f0 = 0
            while f0 < filters {
                for c in 0..<channels {
                    var i = 0
                    while i < kh {
                        // An odd last row is paired with itself; its copy is summed, never stored.
                        let i2 = min(i + 1, kh - 1)
                        let sumsA = partial + (((c &* kh &+ i) &* 5) &* stride &+ f0)
                        let sumsB = partial + (((c &* kh &+ i2) &* 5) &* stride &+ f0)
                        var a0 = load16(sumsA), a1 = load16(sumsA + stride), a2 = load16(sumsA + 2 &* stride)
                        var a3 = load16(sumsA + 3 &* stride), a4 = load16(sumsA + 4 &* stride)
                        var c0 = load16(sumsB), c1 = load16(sumsB + stride), c2 = load16(sumsB + 2 &* stride)
                        var c3 = load16(sumsB + 3 &* stride), c4 = load16(sumsB + 4 &* stride)
                        var dyRow = gradients + (n &* sampleGrad &+ f0)
                        for oy in 0..<oh {
                            let rowA = x + ((c &* hp &+ oy &+ i) &* wp), rowB = x + ((c &* hp &+ oy &+ i2) &* wp)
                            var p0 = SIMD16<Float>(repeating: rowA[0]), p1 = SIMD16<Float>(repeating: rowA[1])
                            var p2 = SIMD16<Float>(repeating: rowA[2]), p3 = SIMD16<Float>(repeating: rowA[3])
                            var q0 = SIMD16<Float>(repeating: rowB[0]), q1 = SIMD16<Float>(repeating: rowB[1])
                            var q2 = SIMD16<Float>(repeating: rowB[2]), q3 = SIMD16<Float>(repeating: rowB[3])
                            for ox in 0..<ow {
                                let v = load16(dyRow)
                                dyRow += stride
                                let p4 = SIMD16<Float>(repeating: rowA[ox &+ 4]), q4 = SIMD16<Float>(repeating: rowB[ox &+ 4])
                                a0.addProduct(p0, v); a1.addProduct(p1, v); a2.addProduct(p2, v); a3.addProduct(p3, v); a4.addProduct(p4, v)
                                c0.addProduct(q0, v); c1.addProduct(q1, v); c2.addProduct(q2, v); c3.addProduct(q3, v); c4.addProduct(q4, v)
                                p0 = p1; p1 = p2; p2 = p3; p3 = p4
                                q0 = q1; q1 = q2; q2 = q3; q3 = q4
                            }
                        }
                        store16(a0, sumsA); store16(a1, sumsA + stride); store16(a2, sumsA + 2 &* stride)
                        store16(a3, sumsA + 3 &* stride); store16(a4, sumsA + 4 &* stride)
                        if i2 != i {
                            store16(c0, sumsB); store16(c1, sumsB + stride); store16(c2, sumsB + 2 &* stride)
                            store16(c3, sumsB + 3 &* stride); store16(c4, sumsB + 4 &* stride)
                        }
                        i += 2
                    }
                }
                f0 += 16
            }
        }
    }
    #endif

    /// Copies one sample's output gradient into rows of `rowStride` floats, zero-padded.
    public static func padGradient(_ dy: UnsafePointer<Float>, _ g: ConvGeometry, into q: UnsafeMutablePointer<Float>) {
        let ow = g.output.width, stride = rowStride(g), rows = g.output.channels * g.output.height
        for r in 0..<rows {
            let target = q + r * stride, source = dy + r * ow
            for i in 0..<ow { target[i] = source[i] }
            for i in ow..<stride { target[i] = 0 }
        }
    }

    /// Floats of the partial sums `weightGradient` keeps: one vector per filter and tap, for
    /// filters rounded up to whole blocks of six.
    public static func rowPartialCount(_ g: ConvGeometry) -> Int { (g.output.channels + 5) / 6 * 6 * g.patch * 16 }

    /// Whether `weightGradient` reads output gradients where they are (rows of 16 or more: a
    /// row's last, overlapping vector masks the lanes the previous one covered) rather than from
    /// copies padded to whole vectors (`padGradient`).
    public static func readsGradientInPlace(_ g: ConvGeometry) -> Bool { g.output.width >= 16 }

    /// dW = Σ over the batch of dY ∗ x (correlation of each padded input with the output gradient),
    /// six filters at a time sharing each input load (six FMA chains). Samples are the outer loop
    /// so each sample's input and gradient stay in L1 while every tap meets them; each (filter, tap)
    /// keeps a vector of partial sums in `partial` (`rowPartialCount`), reduced once at the end.
    /// `gradients` holds each sample's output gradient: as it is (`sampleStride` = outputs, rows of
    /// ow) when `readsGradientInPlace`, else `padGradient`'s copies (`gradientCount`, `rowStride`).
    public static func weightGradient(padded: UnsafePointer<Float>, gradients: UnsafePointer<Float>, batch: Int, _ g: ConvGeometry,
                               partial: UnsafeMutablePointer<Float>, into dw: UnsafeMutablePointer<Float>) {
        switch g.kernelWidth {
        case 5: weightGradientRows(padded: padded, gradients: gradients, batch: batch, g, kernelWidth: 5, partial: partial, into: dw)
        case 3: weightGradientRows(padded: padded, gradients: gradients, batch: batch, g, kernelWidth: 3, partial: partial, into: dw)
        default: weightGradientRows(padded: padded, gradients: gradients, batch: batch, g, kernelWidth: g.kernelWidth, partial: partial, into: dw)
        }
    }

    @inline(__always)
    private static func weightGradientRows(padded: UnsafePointer<Float>, gradients: UnsafePointer<Float>, batch: Int, _ g: ConvGeometry,
                                           kernelWidth kw: Int, partial: UnsafeMutablePointer<Float>, into dw: UnsafeMutablePointer<Float>) {
        let inPlace = readsGradientInPlace(g)
        let hp = paddedHeight(g), wp = paddedWidth(g), oh = g.output.height, stride = inPlace ? g.output.width : rowStride(g)
        let kh = g.kernelHeight, channels = g.input.channels, filters = g.output.channels
        let taps = channels * kh * kw
        let sampleIn = paddedCount(g), sampleGrad = inPlace ? g.output.count : gradientCount(g)
        // Column blocks of a row: whole vectors, then (rows not a multiple of 16) one ending at
        // the row's end whose first `overlap` lanes were counted already and are masked off.
        let wholeBlocks = stride / 16, tail = stride - 16, blocks = (stride + 15) / 16
        let overlap = SIMD16<Float>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) .< Float(16 - stride % 16)
        let zero = SIMD16<Float>()
        Kernels.fill(partial, with: 0, count: rowPartialCount(g))
        for n in 0..<batch {
            let grad = gradients + n &* sampleGrad
            var f0 = 0
            while f0 < filters {
                let g0 = grad + f0 * oh * stride, g1 = grad + min(f0 + 1, filters - 1) * oh * stride
                let g2 = grad + min(f0 + 2, filters - 1) * oh * stride, g3 = grad + min(f0 + 3, filters - 1) * oh * stride
                let g4 = grad + min(f0 + 4, filters - 1) * oh * stride, g5 = grad + min(f0 + 5, filters - 1) * oh * stride
                for c in 0..<channels {
                    for i in 0..<kh {
                        #if WIDE_VECTOR_REGISTERS
                        // Two taps (j, j + 1) at a time share the six gradient loads: 12 FMA chains.
                        var j = 0
                        while j < kw {
                            let j2 = min(j + 1, kw - 1) // an odd last tap is paired with itself, stored once
                            let tapA = (c &* kh &+ i) &* kw &+ j, tapB = (c &* kh &+ i) &* kw &+ j2
                            let sumsA = partial + (f0 &* taps &+ tapA &* 6) &* 16, sumsB = partial + (f0 &* taps &+ tapB &* 6) &* 16
                            var a0 = load16(sumsA), a1 = load16(sumsA + 16), a2 = load16(sumsA + 32)
                            var a3 = load16(sumsA + 48), a4 = load16(sumsA + 64), a5 = load16(sumsA + 80)
                            var b0 = load16(sumsB), b1 = load16(sumsB + 16), b2 = load16(sumsB + 32)
                            var b3 = load16(sumsB + 48), b4 = load16(sumsB + 64), b5 = load16(sumsB + 80)
                            let plane = padded + (n &* sampleIn &+ c &* hp &* wp &+ i &* wp)
                            for oy in 0..<oh {
                                for k in 0..<blocks {
                                    let masked = k == wholeBlocks, cs = masked ? tail : k &* 16
                                    let at = plane + (oy &* wp &+ cs), o = oy &* stride &+ cs
                                    let u = load16(at + j), v = load16(at + j2)
                                    @inline(__always) func d(_ gk: UnsafePointer<Float>) -> SIMD16<Float> {
                                        masked ? load16(gk + o).replacing(with: zero, where: overlap) : load16(gk + o)
                                    }
                                    let d0 = d(g0), d1 = d(g1), d2 = d(g2), d3 = d(g3), d4 = d(g4), d5 = d(g5)
                                    a0.addProduct(d0, u); b0.addProduct(d0, v)
                                    a1.addProduct(d1, u); b1.addProduct(d1, v)
                                    a2.addProduct(d2, u); b2.addProduct(d2, v)
                                    a3.addProduct(d3, u); b3.addProduct(d3, v)
                                    a4.addProduct(d4, u); b4.addProduct(d4, v)
                                    a5.addProduct(d5, u); b5.addProduct(d5, v)
                                }
                            }
                            store16(a0, sumsA); store16(a1, sumsA + 16); store16(a2, sumsA + 32)
                            store16(a3, sumsA + 48); store16(a4, sumsA + 64); store16(a5, sumsA + 80)
                            if j2 != j {
                                store16(b0, sumsB); store16(b1, sumsB + 16); store16(b2, sumsB + 32)
                                store16(b3, sumsB + 48); store16(b4, sumsB + 64); store16(b5, sumsB + 80)
                            }
                            j += 2
                        }
                        #else
                        for j in 0..<kw {
                            let tap = (c &* kh &+ i) &* kw &+ j
                            // Vectors of filters f0 … f0 + 5 for this tap, six taps' worth apart.
                            let sums = partial + (f0 &* taps &+ tap &* 6) &* 16
                            var a0 = load16(sums), a1 = load16(sums + 16), a2 = load16(sums + 32)
                            var a3 = load16(sums + 48), a4 = load16(sums + 64), a5 = load16(sums + 80)
                            let plane = padded + (n &* sampleIn &+ c &* hp &* wp &+ i &* wp &+ j)
                            for oy in 0..<oh {
                                for k in 0..<blocks {
                                    let masked = k == wholeBlocks, cs = masked ? tail : k &* 16
                                    let v = load16(plane + (oy &* wp &+ cs)), o = oy &* stride &+ cs
                                    @inline(__always) func d(_ gk: UnsafePointer<Float>) -> SIMD16<Float> {
                                        masked ? load16(gk + o).replacing(with: zero, where: overlap) : load16(gk + o)
                                    }
                                    a0.addProduct(d(g0), v)
                                    a1.addProduct(d(g1), v)
                                    a2.addProduct(d(g2), v)
                                    a3.addProduct(d(g3), v)
                                    a4.addProduct(d(g4), v)
                                    a5.addProduct(d(g5), v)
                                }
                            }
                            store16(a0, sums); store16(a1, sums + 16); store16(a2, sums + 32)
                            store16(a3, sums + 48); store16(a4, sums + 64); store16(a5, sums + 80)
                        }
                        #endif
                    }
                }
                f0 += 6
            }
        }
        for f in 0..<filters {
            let block = f / 6 * 6
            for tap in 0..<taps { dw[f * taps + tap] = load16(partial + ((block * taps + tap * 6) + f - block) * 16).sum() }
        }
    }

    /// The input gradient as a forward correlation: with dy zero-padded by kh − 1 rows and
    /// kw − 1 columns on every side and W′[c, f, i, j] = W[f, c, kh − 1 − i, kw − 1 − j],
    /// dx_padded[c, y, x] = Σ_{f,i,j} W′[c, f, i, j] · dy_padded[f, y + i, x + j]. So the gradient
    /// runs on the forward kernel (six output channels share each input load) instead of a
    /// reduction over filters that waits on FMA latency.
    public static func gradientGeometry(_ g: ConvGeometry) -> ConvGeometry {
        ConvGeometry(input: g.output, output: Shape3(channels: g.input.channels, height: paddedHeight(g), width: paddedWidth(g)),
                     kernelHeight: g.kernelHeight, kernelWidth: g.kernelWidth, strideY: 1, strideX: 1,
                     padTop: g.kernelHeight - 1, padLeft: g.kernelWidth - 1)
    }

    /// W′ for `inputGradient`: [C, F, kh, kw], each kernel turned by 180°.
    public static func flipWeights(_ w: UnsafePointer<Float>, _ g: ConvGeometry, into flipped: UnsafeMutablePointer<Float>) {
        let kh = g.kernelHeight, kw = g.kernelWidth, channels = g.input.channels, filters = g.output.channels
        for f in 0..<filters {
            for c in 0..<channels {
                for i in 0..<kh {
                    for j in 0..<kw {
                        flipped[((c * filters + f) * kh + (kh - 1 - i)) * kw + (kw - 1 - j)] = w[((f * channels + c) * kh + i) * kw + j]
                    }
                }
            }
        }
    }

    /// dx for one sample from its output gradient `dy` (F × oh × ow) and `flipped` weights.
    /// `paddedGradient` holds `paddedCount(gradientGeometry(g))` floats, zero except where `dy`
    /// goes (its border is never written: zero it once), `plane` holds
    /// C × (oh + kh − 1) × (ow + kw − 1) + 16, `zeroBias` C zeros.
    public static func inputGradient(outputGradient dy: UnsafePointer<Float>, _ g: ConvGeometry, flipped: UnsafePointer<Float>,
                              zeroBias: UnsafePointer<Float>, paddedGradient: UnsafeMutablePointer<Float>,
                              plane dp: UnsafeMutablePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
        let gg = gradientGeometry(g)
        copyInterior(dy, gg, into: paddedGradient)
        forward(padded: paddedGradient, gg, weight: flipped, bias: zeroBias, into: dp)
        let hp = paddedHeight(g), wp = paddedWidth(g), h = g.input.height, w = g.input.width
        for c in 0..<g.input.channels {
            for y in 0..<h {
                let py = y + g.padTop
                let target = dx + (c * h + y) * w
                guard py < hp else { for i in 0..<w { target[i] = 0 }; continue }
                let source = dp + (c * hp + py) * wp + g.padLeft
                for i in 0..<w { target[i] = i < wp - g.padLeft ? source[i] : 0 }
            }
        }
    }
}
