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
        for r in 0..<rows {
            let xr = x + r * d, yr = y + r * d
            var m: Float = 0
            for i in 0..<d { m += xr[i] }
            m /= Float(d)
            var v: Float = 0
            for i in 0..<d { let e = xr[i] - m; v += e * e }
            let s = 1 / (v / Float(d) + epsilon).squareRoot()
            for i in 0..<d { yr[i] = (xr[i] - m) * s * gamma[i] + beta[i] }
            mean?[r] = m
            inverseStd?[r] = s
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
