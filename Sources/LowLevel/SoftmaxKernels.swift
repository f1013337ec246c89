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
        if columns < 16 {
            for r in 0..<rows { softmaxShortRow(x + r &* columns, into: y + r &* columns, count: columns) }
            return
        }
        for r in 0..<rows {
            let xr = x + r * columns, yr = y + r * columns
            let m = maximum(xr, count: columns)
            map16(xr, yr, columns) { exp16($0 - m) }
            scale(yr, by: 1 / sum(yr, count: columns), count: columns)
        }
    }

    /// One row of fewer than 16 elements in a single vector (a classifier's 10 outputs): padding
    /// lanes hold −∞ for the maximum and are dropped from the sum.
    @inline(__always)
    static func softmaxShortRow(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count n: Int) {
        var padded = SIMD16<Float>(repeating: -.infinity)
        withUnsafeMutableBytes(of: &padded) { $0.baseAddress!.copyMemory(from: x, byteCount: n &* 4) }
        let used = SIMD16<Float>(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) .< Float(n) // float lanes: an Int32 comparison is a loop
        let e = exp16(padded - padded.max()).replacing(with: 0, where: .!used)
        var p = e * (1 / e.sum())
        withUnsafeBytes(of: &p) { UnsafeMutableRawPointer(y).copyMemory(from: $0.baseAddress!, byteCount: n &* 4) }
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
