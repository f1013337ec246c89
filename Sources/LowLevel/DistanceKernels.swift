extension Kernels {
    /// Σ (xᵢ − yᵢ)², the squared Euclidean distance, computed from the differences (exact for
    /// nearby points, unlike ‖x‖² + ‖y‖² − 2⟨x, y⟩).
    public static func squaredDistance(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float {
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= n {
            let d0 = load16(x + i) - load16(y + i), d1 = load16(x + i + 16) - load16(y + i + 16)
            a0.addProduct(d0, d0); a1.addProduct(d1, d1)
            i += 32
        }
        while i + 16 <= n { let d = load16(x + i) - load16(y + i); a0.addProduct(d, d); i += 16 }
        var s = (a0 + a1).sum()
        while i < n { let d = x[i] - y[i]; s += d * d; i += 1 }
        return s
    }

    /// Σ |xᵢ − yᵢ|, the L1 (Manhattan) distance.
    public static func l1Distance(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float {
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
        var i = 0
        while i + 32 <= n {
            a0 += abs16(load16(x + i) - load16(y + i)); a1 += abs16(load16(x + i + 16) - load16(y + i + 16))
            i += 32
        }
        while i + 16 <= n { a0 += abs16(load16(x + i) - load16(y + i)); i += 16 }
        var s = (a0 + a1).sum()
        while i < n { s += abs(x[i] - y[i]); i += 1 }
        return s
    }

    /// maxᵢ |xᵢ − yᵢ|, the L∞ (Chebyshev) distance; 0 for empty vectors.
    public static func maxDistance(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float {
        var m = SIMD16<Float>()
        var i = 0
        while i + 16 <= n { m = max16(m, abs16(load16(x + i) - load16(y + i))); i += 16 }
        var s = m.max()
        while i < n { s = Swift.max(s, abs(x[i] - y[i])); i += 1 }
        return s
    }
}

/// |v| by clearing the sign bits (not `pointwiseMax(v, -v)`, which compiles to a loop over lanes).
@inline(__always) func abs16(_ v: SIMD16<Float>) -> SIMD16<Float> {
    unsafeBitCast(unsafeBitCast(v, to: SIMD16<UInt32>.self) & 0x7FFF_FFFF, to: SIMD16<Float>.self)
}
