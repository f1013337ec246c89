extension Kernels {
    /// y += a·x.
    public static func axpy(_ a: Float, _ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, count n: Int) {
        let av = SIMD16<Float>(repeating: a)
        var i = 0
        while i + 64 <= n {
            store16(load16(y + i).addingProduct(av, load16(x + i)), y + i)
            store16(load16(y + i + 16).addingProduct(av, load16(x + i + 16)), y + i + 16)
            store16(load16(y + i + 32).addingProduct(av, load16(x + i + 32)), y + i + 32)
            store16(load16(y + i + 48).addingProduct(av, load16(x + i + 48)), y + i + 48)
            i += 64
        }
        while i + 16 <= n { store16(load16(y + i).addingProduct(av, load16(x + i)), y + i); i += 16 }
        while i < n { y[i] += a * x[i]; i += 1 }
    }

    /// Σ xᵢ·yᵢ, with four independent accumulators so the FMA latency is hidden.
    public static func dot(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, count n: Int) -> Float {
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        var i = 0
        while i + 64 <= n {
            a0.addProduct(load16(x + i), load16(y + i))
            a1.addProduct(load16(x + i + 16), load16(y + i + 16))
            a2.addProduct(load16(x + i + 32), load16(y + i + 32))
            a3.addProduct(load16(x + i + 48), load16(y + i + 48))
            i += 64
        }
        while i + 16 <= n {
            a0.addProduct(load16(x + i), load16(y + i))
            i += 16
        }
        var s = horizontalSum((a0 + a1) + (a2 + a3))
        while i < n { s += x[i] * y[i]; i += 1 }
        return s
    }

    /// Four dot products of x with y0…y3 at once: each load of x serves four independent FMA chains.
    public static func dot4(_ x: UnsafePointer<Float>, _ y0: UnsafePointer<Float>, _ y1: UnsafePointer<Float>,
                            _ y2: UnsafePointer<Float>, _ y3: UnsafePointer<Float>, count n: Int) -> SIMD4<Float> {
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            let v = load16(x + i)
            a0.addProduct(v, load16(y0 + i)); a1.addProduct(v, load16(y1 + i))
            a2.addProduct(v, load16(y2 + i)); a3.addProduct(v, load16(y3 + i))
            i += 16
        }
        var r = SIMD4<Float>(horizontalSum(a0), horizontalSum(a1), horizontalSum(a2), horizontalSum(a3))
        while i < n {
            r += SIMD4(y0[i], y1[i], y2[i], y3[i]) * x[i]
            i += 1
        }
        return r
    }

    /// x *= a (in place).
    public static func scale(_ x: UnsafeMutablePointer<Float>, by a: Float, count n: Int) {
        var i = 0
        while i + 16 <= n { store16(load16(x + i) * a, x + i); i += 16 }
        while i < n { x[i] *= a; i += 1 }
    }

    /// z = x + y. `z` may be `x` or `y`.
    public static func add(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, into z: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        while i + 16 <= n { store16(load16(x + i) + load16(y + i), z + i); i += 16 }
        while i < n { z[i] = x[i] + y[i]; i += 1 }
    }

    /// z = x − y. `z` may be `x` or `y`.
    public static func subtract(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, into z: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        while i + 16 <= n { store16(load16(x + i) - load16(y + i), z + i); i += 16 }
        while i < n { z[i] = x[i] - y[i]; i += 1 }
    }

    /// z = x ⊙ y (element-wise). `z` may be `x` or `y`.
    public static func multiply(_ x: UnsafePointer<Float>, _ y: UnsafePointer<Float>, into z: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        while i + 16 <= n { store16(load16(x + i) * load16(y + i), z + i); i += 16 }
        while i < n { z[i] = x[i] * y[i]; i += 1 }
    }

    /// x = v everywhere.
    public static func fill(_ x: UnsafeMutablePointer<Float>, with v: Float, count n: Int) {
        let s = SIMD16<Float>(repeating: v)
        var i = 0
        while i + 16 <= n { store16(s, x + i); i += 16 }
        while i < n { x[i] = v; i += 1 }
    }

    /// Adds `bias` (length `columns`) to every row of the row-major `rows × columns` matrix `x`.
    public static func addBias(_ bias: UnsafePointer<Float>, to x: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        for r in 0..<rows {
            let row = x + r * columns
            add(row, bias, into: row, count: columns)
        }
    }

    /// sums[j] += Σᵢ x[i, j] over the rows of the row-major `rows × columns` matrix `x`
    /// (the bias gradient of a dense layer). Accumulates: clear `sums` first for a plain sum.
    public static func accumulateColumnSums(_ x: UnsafePointer<Float>, rows: Int, columns: Int, into sums: UnsafeMutablePointer<Float>) {
        for r in 0..<rows {
            add(sums, x + r * columns, into: sums, count: columns)
        }
    }

    /// Σ xᵢ.
    public static func sum(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        var a = SIMD16<Float>()
        var i = 0
        while i + 16 <= n { a += load16(x + i); i += 16 }
        var s = a.sum()
        while i < n { s += x[i]; i += 1 }
        return s
    }

    /// Σ xᵢ².
    public static func sumOfSquares(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        dot(x, x, count: n)
    }

    /// The largest element. Returns −∞ when `n == 0`; NaNs are ignored unless all are NaN.
    public static func maximum(_ x: UnsafePointer<Float>, count n: Int) -> Float {
        var m = SIMD16<Float>(repeating: -.infinity)
        var i = 0
        while i + 16 <= n { m = max16(m, load16(x + i)); i += 16 }
        var s = m.max()
        while i < n { s = Swift.max(s, x[i]); i += 1 }
        return s
    }

    /// Index of the first largest element (0 when `n == 0`).
    public static func argmax(_ x: UnsafePointer<Float>, count n: Int) -> Int {
        var best = 0
        var i = 1
        while i < n {
            if x[i] > x[best] { best = i }
            i += 1
        }
        return best
    }

    /// True when every element is finite (no NaN, no ±∞).
    public static func allFinite(_ x: UnsafePointer<Float>, count n: Int) -> Bool {
        // x − x is 0 for finite x and NaN otherwise; NaN poisons the sum.
        var a = SIMD16<Float>()
        var i = 0
        while i + 16 <= n { let v = load16(x + i); a += v - v; i += 16 }
        var s = a.sum()
        while i < n { s += x[i] - x[i]; i += 1 }
        return s == 0
    }

    /// Converts bytes to floats scaled by `scale` (image pixels to [0, 1] with scale 1/255).
    public static func convert(_ bytes: UnsafePointer<UInt8>, scale: Float, into x: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        while i + 16 <= n {
            // Widening lane by lane compiles to one vpmovzxbd; the generic SIMD conversions do not
            // inline. OR-ing a byte into the mantissa of 2^23 gives the float 2^23 + b exactly.
            let b = UnsafeRawPointer(bytes + i).loadUnaligned(as: SIMD16<UInt8>.self)
            var w = SIMD16<UInt32>()
            for j in 0..<16 { w[j] = UInt32(b[j]) }
            let f = unsafeBitCast(w | 0x4B00_0000, to: SIMD16<Float>.self) - 8_388_608
            store16(f * scale, x + i)
            i += 16
        }
        while i < n { x[i] = Float(bytes[i]) * scale; i += 1 }
    }
}
