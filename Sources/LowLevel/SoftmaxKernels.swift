#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Row-wise softmax and log-softmax over a row-major `rows × columns` matrix. Both subtract the
/// row maximum first, so large logits do not overflow. `y` may be `x`.
extension Kernels {
    /// yᵢ = e^{xᵢ − m} / Σⱼ e^{xⱼ − m} per row, m the row maximum.
    public static func softmaxRows(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        for r in 0..<rows {
            let xr = x + r * columns, yr = y + r * columns
            let m = maximum(xr, count: columns)
            map16(xr, yr, columns) { exp16($0 - m) }
            scale(yr, by: 1 / sum(yr, count: columns), count: columns)
        }
    }

    /// yᵢ = xᵢ − m − log Σⱼ e^{xⱼ − m} per row.
    public static func logSoftmaxRows(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        for r in 0..<rows {
            let xr = x + r * columns, yr = y + r * columns
            let shift = logSumExp(xr, count: columns)
            map16(xr, yr, columns) { $0 - shift }
        }
    }

    /// log Σ e^{xᵢ}, computed as m + log Σ e^{xᵢ − m}.
    public static func logSumExp(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        let m = maximum(x, count: n)
        if !m.isFinite { return m }
        var acc = SIMD16<Float>()
        var i = 0
        while i + 16 <= n { acc += exp16(load16(x + i) - m); i += 16 }
        var s = acc.sum()
        while i < n { s += expf(x[i] - m); i += 1 }
        return m + logf(s)
    }
}
