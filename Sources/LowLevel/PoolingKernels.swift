/// Max and average pooling of one sample (no padding), shared by training and the C runtime.
public enum Pooling {
    public enum Mode: Sendable { case max, average }

    /// One sample; `argmax` (max mode) receives the winning input indices when given.
    public static func forwardOne(_ mode: Mode, _ spec: PoolSpec, _ input: Shape3, _ output: Shape3,
                           _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>?) {
        let scale = 1 / Float(spec.windowHeight * spec.windowWidth)
        if mode == .max && spec.windowHeight == 2 && spec.windowWidth == 2 && spec.strideY == 2 && spec.strideX == 2 {
            maxPool2x2(input, output, x, into: y, argmax: argmax)
            return
        }
        var o = 0
        for c in 0..<input.channels {
            let plane = c * input.spatial
            for oy in 0..<output.height {
                for ox in 0..<output.width {
                    let top = oy * spec.strideY, left = ox * spec.strideX
                    var best = -Float.infinity, bestIndex = plane + top * input.width + left, sum: Float = 0
                    for i in 0..<spec.windowHeight {
                        let row = plane + (top + i) * input.width + left
                        for j in 0..<spec.windowWidth {
                            let v = x[row + j]
                            sum += v
                            if v > best || v.isNaN { best = v; bestIndex = row + j }
                        }
                    }
                    if mode == .max {
                        y[o] = best
                        argmax?[o] = Int32(truncatingIfNeeded: bestIndex)
                    } else {
                        y[o] = sum * scale
                    }
                    o += 1
                }
            }
        }
    }

    /// The common 2x2, stride-2 max pooling without the general window loops (the first maximum
    /// in row-major window order wins, as in the general path).
    @inline(__always)
    public static func maxPool2x2(_ input: Shape3, _ output: Shape3, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                           argmax: UnsafeMutablePointer<Int32>?) {
        var o = 0
        let w = input.width
        for c in 0..<input.channels {
            let plane = c * input.spatial
            for oy in 0..<output.height {
                let top = plane + 2 * oy * w
                if argmax == nil {
                    // Inference: the same selects without the winners' bookkeeping, on pointers.
                    let upperRow = x + top, lowerRow = upperRow + w, out = y + o
                    for ox in 0..<output.width {
                        let a = 2 &* ox
                        let va = upperRow[a], vb = upperRow[a &+ 1], vd = lowerRow[a], ve = lowerRow[a &+ 1]
                        let upper = vb > va ? vb : va, lower = ve > vd ? ve : vd
                        out[ox] = lower > upper ? lower : upper
                    }
                    o += output.width
                    continue
                }
                let lastBlock = (output.width &- 1) / 16 &* 16
                if let argmax, o &+ lastBlock &+ 16 <= output.count, top &+ w &+ 2 &* lastBlock &+ 32 <= input.count {
                    // 16 outputs at a time; lanes past the row's end are stored too and rewritten
                    // by the next row (the conditions keep every load and store in the sample).
                    maxPool2x2Row(x + top, width: w, outputs: output.width, indexBase: top, into: y + o, argmax: argmax + o)
                    o += output.width
                    continue
                }
                for ox in 0..<output.width {
                    let a = top + 2 * ox
                    let va = x[a], vb = x[a + 1], vd = x[a + w], ve = x[a + w + 1]
                    // Branch-free selects (cmov): the upper pair, the lower pair, then the two winners.
                    let upper = vb > va ? vb : va, upperIndex = vb > va ? a + 1 : a
                    let lower = ve > vd ? ve : vd, lowerIndex = ve > vd ? a + w + 1 : a + w
                    let lowerWins = lower > upper
                    y[o] = lowerWins ? lower : upper
                    if let argmax { argmax[o] = Int32(truncatingIfNeeded: lowerWins ? lowerIndex : upperIndex) }
                    o += 1
                }
            }
        }
    }

    /// One output row of 2x2 max pooling with winners, 16 outputs a vector: the selects of the
    /// scalar loop, lane by lane, so the same input wins. Writes whole vectors (up to 15 values
    /// past `outputs`) and reads 32 floats past the start of each block in both input rows.
    @inline(__always)
    private static func maxPool2x2Row(_ upper: UnsafePointer<Float>, width w: Int, outputs: Int, indexBase: Int,
                                      into y: UnsafeMutablePointer<Float>, argmax: UnsafeMutablePointer<Int32>) {
        let lower = upper + w
        let lanes = SIMD16<Int32>(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30)
        // A Float comparison's mask is the Int32 vectors' mask type too (SIMDMask<SIMD16<Int32>>),
        // so the winners' indices are selected as integers with the same masks.
        var ox = 0
        while ox < outputs {
            let u = UnsafeRawPointer(upper + 2 &* ox).loadUnaligned(as: SIMD32<Float>.self)
            let l = UnsafeRawPointer(lower + 2 &* ox).loadUnaligned(as: SIMD32<Float>.self)
            let va = u.evenHalf, vb = u.oddHalf, vd = l.evenHalf, ve = l.oddHalf
            let upperPick = vb .> va, lowerPick = ve .> vd
            let upperValue = va.replacing(with: vb, where: upperPick), lowerValue = vd.replacing(with: ve, where: lowerPick)
            let lowerWins = lowerValue .> upperValue
            store16(upperValue.replacing(with: lowerValue, where: lowerWins), y + ox)
            let a = lanes &+ Int32(truncatingIfNeeded: indexBase &+ 2 &* ox), b = a &+ Int32(truncatingIfNeeded: w)
            let index = a.replacing(with: a &+ 1, where: upperPick)
                .replacing(with: b.replacing(with: b &+ 1, where: lowerPick), where: lowerWins)
            UnsafeMutableRawPointer(argmax + ox).storeBytes(of: index, as: SIMD16<Int32>.self)
            ox &+= 16
        }
    }

    /// The adjoint of `forwardOne` for one sample; overwrites `dx`. Max pooling routes each output
    /// gradient to its window's winner (`argmax`); with `positiveInputs` (a ReLU fused before the
    /// pool), only to winners whose input is positive.
    public static func backwardOne(_ mode: Mode, _ spec: PoolSpec, _ input: Shape3, _ output: Shape3,
                                   outputGradient g: UnsafePointer<Float>, into d: UnsafeMutablePointer<Float>,
                                   argmax winners: UnsafePointer<Int32>?, positiveInputs: UnsafePointer<Float>?) {
        Kernels.fill(d, with: 0, count: input.count)
        if mode == .max, let winners {
            if let positiveInputs {
                for o in 0..<output.count {
                    let w = Int(winners[o])
                    d[w] += positiveInputs[w] > 0 ? g[o] : 0
                }
            } else {
                for o in 0..<output.count { d[Int(winners[o])] += g[o] }
            }
            return
        }
        let scale = 1 / Float(spec.windowHeight * spec.windowWidth)
        var o = 0
        for c in 0..<input.channels {
            let plane = c * input.spatial
            for oy in 0..<output.height {
                for ox in 0..<output.width {
                    let share = g[o] * scale
                    for i in 0..<spec.windowHeight {
                        let row = d + plane + (oy * spec.strideY + i) * input.width + ox * spec.strideX
                        for j in 0..<spec.windowWidth { row[j] += share }
                    }
                    o += 1
                }
            }
        }
    }
}
