#if canImport(Glibc)
import Glibc
#endif

/// Multi-head scaled dot-product attention over one sequence, forward and backward, vectorised
/// across positions: each head's keys (for the scores) or values (for dP) are first transposed
/// into scratch, [d_head, T rounded up to 16], so a query's scores against 16 positions are 16
/// lanes of one vector, built by d_head fused multiply-adds with no horizontal sums. The
/// position-by-position form (`attentionRow`) is what a decoder with a key/value cache runs; it
/// rounds in another order (differences of about 1e-7 relative).
extension Kernels {
    /// Floats of `scratch` that `attention` and `attentionBackward` need for a sequence of `t`
    /// positions of width `d` in `heads` heads: one head's keys or values transposed and two rows.
    public static func attentionScratch(length t: Int, width d: Int, heads: Int) -> Int {
        let padded = (t + 15) / 16 * 16
        return (d / heads + 2) * padded
    }

    /// y = softmax(QKᵀ/√d_head)·V per head for q, k, v, y [t, d], head h the columns
    /// h·d/heads ..< (h+1)·d/heads, position i seeing only j ≤ i when `causal`. `weights` receives
    /// the attention weights [heads, t, t] (zero where masked); `scratch` holds
    /// `attentionScratch(length:width:heads:)` floats. With `dropMask` [heads, t, t] (dropout of
    /// the attention weights: each entry 0 or 1/(1 − rate)), y = (P ⊙ mask)·V, and `weights` still
    /// receives P.
    public static func attention(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>, length t: Int, width d: Int,
                                 heads: Int, causal: Bool, weights: UnsafeMutablePointer<Float>, scratch: UnsafeMutablePointer<Float>,
                                 dropMask: UnsafePointer<Float>? = nil, into y: UnsafeMutablePointer<Float>) {
        let dh = d / heads, padded = (t + 15) / 16 * 16, scale = 1 / Float(dh).squareRoot()
        let keys = scratch, scores = scratch + dh * padded
        // Lane indices, for masking the positions past the visible ones. As floats: comparisons of
        // `SIMD16<Int32>` compile to a loop over the lanes, those of floats to one instruction.
        let lane = SIMD16<Float>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15)
        for h in 0..<heads {
            transposeHead(k, length: t, width: d, columns: h * dh, count: dh, padded: padded, into: keys)
            for i in 0..<t {
                let visible = causal ? i + 1 : t, blocks = (visible + 15) / 16
                let qi = q + i * d + h * dh
                // Scores for 16 positions at a time, the lanes past `visible` masked to −∞.
                products(qi, transposed: keys, padded: padded, depth: dh, blocks: blocks, into: scores)
                var largest = SIMD16<Float>(repeating: -.infinity)
                for b in 0..<blocks {
                    let s = (load16(scores + b &* 16) * scale).replacing(with: -.infinity, where: lane .>= Float(visible &- b &* 16))
                    store16(s, scores + b &* 16)
                    largest = max16(largest, s)
                }
                let top = horizontalMax(largest)
                var total = SIMD16<Float>()
                for b in 0..<blocks {
                    let e = exp16(load16(scores + b &* 16) - top).replacing(with: 0, where: lane .>= Float(visible &- b &* 16))
                    total += e
                    store16(e, scores + b &* 16)
                }
                let inverse = 1 / horizontalSum(total)
                let row = weights + (h * t + i) * t
                for j in 0..<visible { row[j] = scores[j] * inverse }
                for j in visible..<t { row[j] = 0 }
                var used = UnsafePointer(row)
                if let dropMask {
                    let m = dropMask + (h * t + i) * t
                    for j in 0..<visible { scores[j] = row[j] * m[j] }
                    used = UnsafePointer(scores)
                }
                weightedSum(used, rows: v + h * dh, stride: d, count: visible, width: dh, into: y + i * d + h * dh, accumulate: false)
            }
        }
    }

    /// The gradients of `attention` for one sequence, added to `dq`, `dk` and `dv` (each [t, d],
    /// nil when not wanted), from its inputs, its saved `weights` and dL/dy. `scratch` and
    /// `dropMask` as for `attention`.
    public static func attentionBackward(q: UnsafePointer<Float>, k: UnsafePointer<Float>, v: UnsafePointer<Float>,
                                         weights: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                                         length t: Int, width d: Int, heads: Int, causal: Bool, scratch: UnsafeMutablePointer<Float>,
                                         dropMask: UnsafePointer<Float>? = nil,
                                         dq: UnsafeMutablePointer<Float>?, dk: UnsafeMutablePointer<Float>?, dv: UnsafeMutablePointer<Float>?) {
        let dh = d / heads, padded = (t + 15) / 16 * 16, scale = 1 / Float(dh).squareRoot()
        let values = scratch, p = scratch + dh * padded, ds = p + padded
        for h in 0..<heads {
            transposeHead(v, length: t, width: d, columns: h * dh, count: dh, padded: padded, into: values)
            for i in 0..<t {
                let visible = causal ? i + 1 : t, blocks = (visible + 15) / 16
                let row = weights + (h * t + i) * t, gi = dy + i * d + h * dh, qi = q + i * d + h * dh
                p.update(from: row, count: visible)
                for j in visible..<(blocks * 16) { p[j] = 0 }
                // dP_ij = dy_i · v_j (times the dropout mask), then dS_ij = P_ij (dP_ij − Σ_j P_ij dP_ij) / √d_head.
                products(gi, transposed: values, padded: padded, depth: dh, blocks: blocks, into: ds)
                let m = dropMask.map { $0 + (h * t + i) * t }
                if let m { for j in 0..<visible { ds[j] *= m[j] } }
                var weighted = SIMD16<Float>()
                for b in 0..<blocks { weighted.addProduct(load16(ds + b &* 16), load16(p + b &* 16)) }
                let dot = horizontalSum(weighted)
                for b in 0..<blocks {
                    let pb = load16(p + b * 16)
                    store16(pb * (load16(ds + b * 16) - dot) * scale, ds + b * 16)
                }
                if let dq { weightedSum(ds, rows: k + h * dh, stride: d, count: visible, width: dh, into: dq + i * d + h * dh, accumulate: true) }
                if let dk { scatter(ds, count: visible, times: qi, width: dh, into: dk + h * dh, stride: d) }
                // dV_j = (P ⊙ mask)_ij · dy_i.
                if let m { for j in 0..<visible { p[j] *= m[j] } }
                if let dv { scatter(p, count: visible, times: gi, width: dh, into: dv + h * dh, stride: d) }
            }
        }
    }

    /// out[j] = Σ_c x[c]·xt[c·padded + j] for j < 16·blocks (at least; whole groups of four blocks
    /// where the padded rows have them): four independent accumulators, so the fused
    /// multiply-adds are not one dependent chain.
    @inline(__always)
    static func products(_ x: UnsafePointer<Float>, transposed xt: UnsafePointer<Float>, padded: Int, depth: Int, blocks: Int,
                         into out: UnsafeMutablePointer<Float>) {
        var b = 0
        while b < blocks {
            let column = xt + b &* 16
            if b &+ 4 <= padded / 16 {
                var s0 = SIMD16<Float>(), s1 = SIMD16<Float>(), s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
                for c in 0..<depth {
                    let w = SIMD16<Float>(repeating: x[c]), r = column + c &* padded
                    s0.addProduct(w, load16(r)); s1.addProduct(w, load16(r + 16))
                    s2.addProduct(w, load16(r + 32)); s3.addProduct(w, load16(r + 48))
                }
                store16(s0, out + b &* 16); store16(s1, out + (b &* 16 &+ 16))
                store16(s2, out + (b &* 16 &+ 32)); store16(s3, out + (b &* 16 &+ 48))
                b &+= 4
            } else {
                var s = SIMD16<Float>()
                for c in 0..<depth { s.addProduct(SIMD16(repeating: x[c]), load16(column + c &* padded)) }
                store16(s, out + b &* 16)
                b &+= 1
            }
        }
    }

    /// Columns `columns ..< columns + count` of the first `t` rows of x (row stride `width`),
    /// transposed: out[c·padded + j] = x[j·width + columns + c], zero for j in t ..< padded.
    @inline(__always)
    static func transposeHead(_ x: UnsafePointer<Float>, length t: Int, width: Int, columns: Int, count: Int, padded: Int,
                              into out: UnsafeMutablePointer<Float>) {
        // Wrapping index arithmetic: the overflow checks otherwise cost more than the copies.
        for j in 0..<t {
            let xj = x + (j &* width &+ columns), oj = out + j
            for c in 0..<count { oj[c &* padded] = xj[c] }
        }
        if padded > t { for c in 0..<count { (out + c * padded + t).update(repeating: 0, count: padded - t) } }
    }

    /// out[0 ..< width] (+)= Σ_{j < count} a_j · rows[j·stride ..< j·stride + width].
    @inline(__always)
    static func weightedSum(_ a: UnsafePointer<Float>, rows: UnsafePointer<Float>, stride: Int, count: Int, width: Int,
                            into out: UnsafeMutablePointer<Float>, accumulate: Bool) {
        var c = 0
        while c &+ 32 <= width {
            // Even and odd positions in separate accumulators: four independent chains.
            var s0 = accumulate ? load16(out + c) : SIMD16<Float>(), s1 = accumulate ? load16(out + (c &+ 16)) : SIMD16<Float>()
            var s2 = SIMD16<Float>(), s3 = SIMD16<Float>()
            var j = 0
            while j &+ 2 <= count {
                let w = SIMD16<Float>(repeating: a[j]), r = rows + (j &* stride &+ c)
                let w2 = SIMD16<Float>(repeating: a[j &+ 1]), r2 = r + stride
                s0.addProduct(w, load16(r)); s1.addProduct(w, load16(r + 16))
                s2.addProduct(w2, load16(r2)); s3.addProduct(w2, load16(r2 + 16))
                j &+= 2
            }
            if j < count {
                let w = SIMD16<Float>(repeating: a[j]), r = rows + (j &* stride &+ c)
                s0.addProduct(w, load16(r)); s1.addProduct(w, load16(r + 16))
            }
            store16(s0 + s2, out + c)
            store16(s1 + s3, out + (c &+ 16))
            c &+= 32
        }
        while c + 16 <= width {
            var s = accumulate ? load16(out + c) : SIMD16<Float>()
            for j in 0..<count { s.addProduct(SIMD16(repeating: a[j]), load16(rows + j * stride + c)) }
            store16(s, out + c)
            c += 16
        }
        while c < width {
            var s: Float = accumulate ? out[c] : 0
            for j in 0..<count { s += a[j] * rows[j * stride + c] }
            out[c] = s
            c += 1
        }
    }

    /// out[j·stride ..< j·stride + width] += a_j · x[0 ..< width] for j < count.
    @inline(__always)
    static func scatter(_ a: UnsafePointer<Float>, count: Int, times x: UnsafePointer<Float>, width: Int,
                        into out: UnsafeMutablePointer<Float>, stride: Int) {
        var c = 0
        while c + 16 <= width {
            let xc = load16(x + c)
            for j in 0..<count {
                let o = out + (j &* stride &+ c)
                store16(load16(o).addingProduct(SIMD16(repeating: a[j]), xc), o)
            }
            c &+= 16
        }
        while c < width {
            for j in 0..<count { out[j * stride + c] += a[j] * x[c] }
            c += 1
        }
    }
}
