import LowLevel

/// Stride-1 convolution as direct SIMD loops, the alternative to im2col + GEMM. Each sample is
/// first copied into a zero-padded plane per channel, with 16 floats of slack at the end, so every
/// output row is computed 16 columns at a time with unaligned loads and no bounds checks (lanes
/// past the row read padding or the next row and are discarded). Output gradients are copied
/// into rows padded with zeros to a multiple of 16, so the weight and input gradients can use
/// whole vectors too.
///
/// Measured against im2col + GEMM at LeNet sizes (see the issue note); the faster one is what
/// `Conv2D` uses for stride 1.
enum DirectConvolution {
    /// Floats in one padded sample: C planes of (oh + kh − 1) × (ow + kw − 1), plus slack.
    static func paddedCount(_ g: ConvGeometry) -> Int {
        g.input.channels * paddedHeight(g) * paddedWidth(g) + 16
    }
    static func paddedHeight(_ g: ConvGeometry) -> Int { g.output.height + g.kernelHeight - 1 }
    static func paddedWidth(_ g: ConvGeometry) -> Int { g.output.width + g.kernelWidth - 1 }
    /// Output row length rounded up to whole vectors.
    static func rowStride(_ g: ConvGeometry) -> Int { (g.output.width + 15) & ~15 }
    /// Floats in one sample's padded output gradient.
    static func gradientCount(_ g: ConvGeometry) -> Int { g.output.channels * g.output.height * rowStride(g) }

    static func applies(to g: ConvGeometry) -> Bool { g.strideY == 1 && g.strideX == 1 }

    /// Copies one sample into its zero-padded layout.
    static func pad(_ x: UnsafePointer<Float>, _ g: ConvGeometry, into p: UnsafeMutablePointer<Float>) {
        let hp = paddedHeight(g), wp = paddedWidth(g), h = g.input.height, w = g.input.width
        Kernels.fill(p, with: 0, count: paddedCount(g))
        for c in 0..<g.input.channels {
            for y in 0..<h {
                let py = y + g.padTop
                guard py < hp else { break }
                let source = x + (c * h + y) * w, target = p + (c * hp + py) * wp + g.padLeft
                for i in 0..<min(w, wp - g.padLeft) { target[i] = source[i] }
            }
        }
    }

    /// y = b + W ∗ x for one padded sample. Four filters at a time share each input load and give
    /// four independent FMA chains (one chain alone waits on FMA latency).
    static func forward(padded p: UnsafePointer<Float>, _ g: ConvGeometry, weight: UnsafePointer<Float>,
                        bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>) {
        let hp = paddedHeight(g), wp = paddedWidth(g), oh = g.output.height, ow = g.output.width
        let kh = g.kernelHeight, kw = g.kernelWidth, channels = g.input.channels, filters = g.output.channels
        let taps = channels * kh * kw
        var f0 = 0
        while f0 < filters {
            // A short last block repeats its last filter; only real filters are stored.
            let f1 = min(f0 + 1, filters - 1), f2 = min(f0 + 2, filters - 1), f3 = min(f0 + 3, filters - 1)
            let w0 = weight + f0 * taps, w1 = weight + f1 * taps, w2 = weight + f2 * taps, w3 = weight + f3 * taps
            for oy in 0..<oh {
                var cs = 0
                while cs < ow {
                    var a0 = SIMD16<Float>(repeating: bias[f0]), a1 = SIMD16<Float>(repeating: bias[f1])
                    var a2 = SIMD16<Float>(repeating: bias[f2]), a3 = SIMD16<Float>(repeating: bias[f3])
                    var tap = 0
                    for c in 0..<channels {
                        let plane = p + c * hp * wp
                        for i in 0..<kh {
                            let row = plane + (oy + i) * wp + cs
                            for j in 0..<kw {
                                let v = load16(row + j)
                                a0.addProduct(SIMD16(repeating: w0[tap]), v)
                                a1.addProduct(SIMD16(repeating: w1[tap]), v)
                                a2.addProduct(SIMD16(repeating: w2[tap]), v)
                                a3.addProduct(SIMD16(repeating: w3[tap]), v)
                                tap += 1
                            }
                        }
                    }
                    let count = min(16, ow - cs)
                    @inline(__always) func put(_ acc: SIMD16<Float>, _ f: Int) {
                        let out = y + (f * oh + oy) * ow + cs
                        if count == 16 { store16(acc, out) } else { for l in 0..<count { out[l] = acc[l] } }
                    }
                    put(a0, f0)
                    if f0 + 1 < filters { put(a1, f0 + 1) }
                    if f0 + 2 < filters { put(a2, f0 + 2) }
                    if f0 + 3 < filters { put(a3, f0 + 3) }
                    cs += 16
                }
            }
            f0 += 4
        }
    }

    /// Copies one sample's output gradient into rows of `rowStride` floats, zero-padded.
    static func padGradient(_ dy: UnsafePointer<Float>, _ g: ConvGeometry, into q: UnsafeMutablePointer<Float>) {
        let ow = g.output.width, stride = rowStride(g), rows = g.output.channels * g.output.height
        for r in 0..<rows {
            let target = q + r * stride, source = dy + r * ow
            for i in 0..<ow { target[i] = source[i] }
            for i in ow..<stride { target[i] = 0 }
        }
    }

    /// dW = Σ over the batch of dY ∗ x (correlation of each padded input with the output gradient),
    /// four filters at a time sharing each input load.
    static func weightGradient(padded: UnsafePointer<Float>, gradients: UnsafePointer<Float>, batch: Int, _ g: ConvGeometry,
                               into dw: UnsafeMutablePointer<Float>) {
        let hp = paddedHeight(g), wp = paddedWidth(g), oh = g.output.height, stride = rowStride(g)
        let kh = g.kernelHeight, kw = g.kernelWidth, channels = g.input.channels, filters = g.output.channels
        let taps = channels * kh * kw
        let sampleIn = paddedCount(g), sampleGrad = gradientCount(g)
        var f0 = 0
        while f0 < filters {
            let f1 = min(f0 + 1, filters - 1), f2 = min(f0 + 2, filters - 1), f3 = min(f0 + 3, filters - 1)
            for c in 0..<channels {
                for i in 0..<kh {
                    for j in 0..<kw {
                        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
                        for n in 0..<batch {
                            let plane = padded + n * sampleIn + c * hp * wp + i * wp + j
                            let grad = gradients + n * sampleGrad
                            let g0 = grad + f0 * oh * stride, g1 = grad + f1 * oh * stride
                            let g2 = grad + f2 * oh * stride, g3 = grad + f3 * oh * stride
                            for oy in 0..<oh {
                                var cs = 0
                                while cs < stride {
                                    let v = load16(plane + oy * wp + cs), o = oy * stride + cs
                                    a0.addProduct(load16(g0 + o), v)
                                    a1.addProduct(load16(g1 + o), v)
                                    a2.addProduct(load16(g2 + o), v)
                                    a3.addProduct(load16(g3 + o), v)
                                    cs += 16
                                }
                            }
                        }
                        let tap = (c * kh + i) * kw + j
                        dw[f0 * taps + tap] = a0.sum()
                        if f0 + 1 < filters { dw[f1 * taps + tap] = a1.sum() }
                        if f0 + 2 < filters { dw[f2 * taps + tap] = a2.sum() }
                        if f0 + 3 < filters { dw[f3 * taps + tap] = a3.sum() }
                    }
                }
            }
            f0 += 4
        }
    }

    /// dx for one sample: the padded-input gradient Σ_f W[f] ⋆ dY[f], then cropped to the input.
    static func inputGradient(gradient q: UnsafePointer<Float>, _ g: ConvGeometry, weight: UnsafePointer<Float>,
                              scratch dp: UnsafeMutablePointer<Float>, into dx: UnsafeMutablePointer<Float>) {
        let hp = paddedHeight(g), wp = paddedWidth(g), oh = g.output.height, stride = rowStride(g)
        let kh = g.kernelHeight, kw = g.kernelWidth, channels = g.input.channels, filters = g.output.channels
        let taps = channels * kh * kw
        Kernels.fill(dp, with: 0, count: paddedCount(g))
        for c in 0..<channels {
            for i in 0..<kh {
                for j in 0..<kw {
                    let tap = (c * kh + i) * kw + j
                    for oy in 0..<oh {
                        let target = dp + c * hp * wp + (oy + i) * wp + j
                        var cs = 0
                        while cs < stride {
                            // Lanes past the output row add W·0 (the gradient rows are zero-padded),
                            // so storing all 16 leaves their targets unchanged. Two chains halve
                            // the wait on FMA latency.
                            var even = load16(target + cs), odd = SIMD16<Float>()
                            var f = 0
                            while f + 1 < filters {
                                even.addProduct(SIMD16(repeating: weight[f * taps + tap]), load16(q + (f * oh + oy) * stride + cs))
                                odd.addProduct(SIMD16(repeating: weight[(f + 1) * taps + tap]), load16(q + ((f + 1) * oh + oy) * stride + cs))
                                f += 2
                            }
                            if f < filters {
                                even.addProduct(SIMD16(repeating: weight[f * taps + tap]), load16(q + (f * oh + oy) * stride + cs))
                            }
                            store16(even + odd, target + cs)
                            cs += 16
                        }
                    }
                }
            }
        }
        let h = g.input.height, w = g.input.width
        for c in 0..<channels {
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
