#if canImport(Glibc)
import Glibc
#endif

/// The transformer's forward arithmetic, shared by the graph's ops (`LayerNorm`, `Attention`,
/// `SinusoidalPositions`; attention's are in AttentionKernels.swift) and the C runtime, so both
/// give the same bits.
extension Kernels {
    /// Layer normalisation of `rows` rows of `width`: y = γ·(x − μ)/√(σ² + ε) + β with each row's
    /// mean and biased variance. Each row's μ and 1/σ go to `mean` and `inverseStd` when given.
    public static func layerNorm(_ x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, beta: UnsafePointer<Float>,
                                 rows: Int, width d: Int, epsilon: Float, into y: UnsafeMutablePointer<Float>,
                                 mean: UnsafeMutablePointer<Float>?, inverseStd: UnsafeMutablePointer<Float>?) {
        let full = d / 16 * 16
        for r in 0..<rows {
            let xr = x + r * d, yr = y + r * d
            // Sixteen partial sums: a single running sum would wait on each addition's latency.
            var sums = SIMD16<Float>()
            var i = 0
            while i < full { sums += load16(xr + i); i &+= 16 }
            var m = horizontalSum(sums)
            while i < d { m += xr[i]; i &+= 1 }
            m /= Float(d)
            let mv = SIMD16<Float>(repeating: m)
            var squares = SIMD16<Float>()
            i = 0
            while i < full { let e = load16(xr + i) - mv; squares += e * e; i &+= 16 }
            var v = horizontalSum(squares)
            while i < d { let e = xr[i] - m; v += e * e; i &+= 1 }
            let s = 1 / (v / Float(d) + epsilon).squareRoot()
            let sv = SIMD16<Float>(repeating: s)
            i = 0
            while i < full { store16((load16(xr + i) - mv) * sv * load16(gamma + i) + load16(beta + i), yr + i); i &+= 16 }
            while i < d { yr[i] = (xr[i] - m) * s * gamma[i] + beta[i]; i &+= 1 }
            mean?[r] = m
            inverseStd?[r] = s
        }
    }

    /// The gradients of `layerNorm` from its saved row means and 1/σ: dx = s·(ĝ − mean(ĝ) − x̂·mean(ĝ·x̂))
    /// with ĝ = γ·dy and x̂ = (x − μ)·s, written (`overwrite`) or added into dx; dγ += dy·x̂ and
    /// dβ += dy summed over the rows. Any of dx, dγ, dβ may be nil.
    public static func layerNormBackward(_ x: UnsafePointer<Float>, gamma: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                                         mean: UnsafePointer<Float>, inverseStd: UnsafePointer<Float>, rows: Int, width d: Int,
                                         dx: UnsafeMutablePointer<Float>?, overwrite: Bool,
                                         dgamma: UnsafeMutablePointer<Float>?, dbeta: UnsafeMutablePointer<Float>?) {
        let full = d / 16 * 16
        for r in 0..<rows {
            let xr = x + r * d, gr = dy + r * d, m = mean[r], s = inverseStd[r]
            let mv = SIMD16<Float>(repeating: m), sv = SIMD16<Float>(repeating: s)
            var sumG = SIMD16<Float>(), sumGX = SIMD16<Float>()
            var i = 0
            while i < full {
                let xhat = (load16(xr + i) - mv) * sv, g = load16(gr + i), gg = load16(gamma + i) * g
                sumG += gg
                sumGX += gg * xhat
                if let dgamma { store16(load16(dgamma + i) + g * xhat, dgamma + i) }
                if let dbeta { store16(load16(dbeta + i) + g, dbeta + i) }
                i &+= 16
            }
            var meanG = horizontalSum(sumG), meanGX = horizontalSum(sumGX)
            while i < d {
                let xhat = (xr[i] - m) * s, gg = gamma[i] * gr[i]
                meanG += gg
                meanGX += gg * xhat
                dgamma?[i] += gr[i] * xhat
                dbeta?[i] += gr[i]
                i &+= 1
            }
            meanG /= Float(d)
            meanGX /= Float(d)
            guard let dx else { continue }
            let dr = dx + r * d, mg = SIMD16<Float>(repeating: meanG), mgx = SIMD16<Float>(repeating: meanGX)
            i = 0
            while i < full {
                let xhat = (load16(xr + i) - mv) * sv
                var g = sv * (load16(gamma + i) * load16(gr + i) - mg - xhat * mgx)
                if !overwrite { g += load16(dr + i) }
                store16(g, dr + i)
                i &+= 16
            }
            while i < d {
                let xhat = (xr[i] - m) * s
                let g = s * (gamma[i] * gr[i] - meanG - xhat * meanGX)
                dr[i] = overwrite ? g : dr[i] + g
                i &+= 1
            }
        }
    }

    /// One query of one head: y[h·dh ..< (h+1)·dh] = Σⱼ pⱼ·v_j over the first `visible` positions,
    /// p = softmax(q·k_j/√dh), with q, y one row of width d and `keys` / `values` rows of width d
    /// (position j at j·d). `weights` receives p (`visible` floats). A decoder's step with cached
    /// keys and values; the whole window goes through `attention` (AttentionKernels.swift), which
    /// gives the same values up to rounding.
    @inline(__always)
    public static func attentionRow(q: UnsafePointer<Float>, keys k: UnsafePointer<Float>, values v: UnsafePointer<Float>, visible: Int,
                                    width d: Int, heads: Int, head h: Int, weights row: UnsafeMutablePointer<Float>,
                                    into y: UnsafeMutablePointer<Float>) {
        let dh = d / heads, scale = 1 / Float(dh).squareRoot(), qh = q + h * dh, yh = y + h * dh
        var largest = -Float.infinity
        for j in 0..<visible {
            row[j] = dot(qh, k + j * d + h * dh, count: dh) * scale
            largest = max(largest, row[j])
        }
        var sum: Float = 0
        for j in 0..<visible { row[j] = expf(row[j] - largest); sum += row[j] }
        let inverse = 1 / sum
        for j in 0..<visible { row[j] *= inverse }
        fill(yh, with: 0, count: dh)
        for j in 0..<visible { axpy(row[j], v + j * d + h * dh, yh, count: dh) }
    }

    /// The course's sinusoidal positions [positions, width]: W[t, 2i] = sin(t / 10000^(2i/width)),
    /// W[t, 2i+1] = cos(·).
    public static func sinusoidalPositions(positions: Int, width d: Int, into y: UnsafeMutablePointer<Float>) {
        for position in 0..<positions {
            for i in 0..<d / 2 {
                let angle = Double(position) / pow(10_000, Double(2 * i) / Double(d))
                y[position * d + 2 * i] = Float(sin(angle))
                y[position * d + 2 * i + 1] = Float(cos(angle))
            }
        }
    }
}
