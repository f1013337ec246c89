/// Element-wise activations and their derivatives. Each forward may run in place (`y` == `x`).
/// Each backward takes the forward *output* `y` (all four derivatives are functions of it), the
/// gradient with respect to the output `dy`, and writes the gradient with respect to the input `dx`
/// (which may be `dy`).
extension Kernels {
    /// y = max(x, 0) (+0 for ±0; NaN stays NaN). Plain vector selects: through the generic
    /// `map16` closure this ran several times slower (the closure and `pointwiseMax` were not
    /// flattened into one vector instruction).
    public static func relu(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count n: Int) {
        let zero = SIMD16<Float>()
        var i = 0
        while i &+ 16 <= n {
            let v = load16(x + i)
            store16(v.replacing(with: zero, where: v .<= zero), y + i)
            i &+= 16
        }
        while i < n { y[i] = x[i] <= 0 ? 0 : x[i]; i &+= 1 }
    }

    /// dx = dy where y > 0, else 0.
    public static func reluBackward(output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                                    into dx: UnsafeMutablePointer<Float>, count n: Int) {
        let zero = SIMD16<Float>()
        var i = 0
        while i &+ 16 <= n {
            store16(load16(dy + i).replacing(with: zero, where: load16(y + i) .<= zero), dx + i)
            i &+= 16
        }
        while i < n { dx[i] = y[i] <= 0 ? 0 : dy[i]; i &+= 1 }
    }

    /// y = x for x > 0, α(eˣ − 1) otherwise.
    public static func elu(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count n: Int, alpha: Float = 1) {
        map16(x, y, n) { x in
            let negative = (exp16(min16(x, SIMD16<Float>())) - 1) * alpha
            return negative.replacing(with: x, where: x .> 0)
        }
    }

    /// dx = dy for y > 0, dy·(y + α) otherwise.
    public static func eluBackward(output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                                   into dx: UnsafeMutablePointer<Float>, count n: Int, alpha: Float = 1) {
        zipMap16(y, dy, dx, n) { y, dy in
            (dy * (y + alpha)).replacing(with: dy, where: y .> 0)
        }
    }

    /// y = 1 / (1 + e⁻ˣ).
    public static func sigmoid(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count n: Int) {
        map16(x, y, n) { x in 1 / (1 + exp16(-x)) }
    }

    /// dx = dy·y·(1 − y).
    public static func sigmoidBackward(output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                                       into dx: UnsafeMutablePointer<Float>, count n: Int) {
        zipMap16(y, dy, dx, n) { y, dy in dy * y * (1 - y) }
    }

    /// y = tanh x, as sign(x)·(1 − 2/(e^{2|x|} + 1)); absolute error about 1e-7.
    public static func tanh(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count n: Int) {
        map16(x, y, n) { x in
            let magnitude = 1 - 2 / (exp16(2 * min16(x.replacing(with: -x, where: x .< 0), SIMD16(repeating: 20))) + 1)
            return magnitude.replacing(with: -magnitude, where: x .< 0)
        }
    }

    /// dx = dy·(1 − y²).
    public static func tanhBackward(output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                                    into dx: UnsafeMutablePointer<Float>, count n: Int) {
        zipMap16(y, dy, dx, n) { y, dy in dy * (1 - y * y) }
    }
}

/// erf for 16 lanes: Abramowitz & Stegun 7.1.26, 1 − (a₁t + … + a₅t⁵)·e^{−x²} with
/// t = 1/(1 + p|x|), odd in x; absolute error below 1.5e-7.
@_transparent
func erf16(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let a = x.replacing(with: -x, where: x .< 0)
    let t = 1 / (1 + 0.327_591_1 * a)
    var p = SIMD16<Float>(repeating: 1.061_405_429)
    p = p * t - 1.453_152_027
    p = p * t + 1.421_413_741
    p = p * t - 0.284_496_736
    p = p * t + 0.254_829_592
    p = p * t
    let e = 1 - p * exp16(-(a * a))
    return e.replacing(with: -e, where: x .< 0)
}

extension Kernels {
    /// GELU in its exact form, y = x·Φ(x) = ½x(1 + erf(x/√2)) (erf to 1.5e-7). A plain loop, not
    /// `map16`: through the closure the vector was passed and computed as four 128-bit pieces, 3×
    /// slower on AVX-512 CPUs.
    public static func gelu(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count n: Int) {
        var i = 0
        while i &+ 16 <= n {
            let v = load16(x + i)
            store16(0.5 * v * (1 + erf16(v * 0.707_106_77)), y + i)
            i &+= 16
        }
        if i < n {
            var v = SIMD16<Float>()
            for j in 0..<(n - i) { v[j] = x[i + j] }
            let out = 0.5 * v * (1 + erf16(v * 0.707_106_77))
            for j in 0..<(n - i) { y[i + j] = out[j] }
        }
    }

    /// dx (+)= dy·(Φ(x) + x·φ(x)), from the input x; `accumulate` adds to dx.
    public static func geluBackward(input x: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                                    into dx: UnsafeMutablePointer<Float>, count n: Int, accumulate: Bool) {
        var i = 0
        while i &+ 16 <= n {
            let v = load16(x + i)
            var g = load16(dy + i) * (0.5 * (1 + erf16(v * 0.707_106_77)) + v * exp16(-0.5 * v * v) * 0.398_942_28)
            if accumulate { g += load16(dx + i) }
            store16(g, dx + i)
            i &+= 16
        }
        if i < n {
            var v = SIMD16<Float>(), gv = SIMD16<Float>()
            for j in 0..<(n - i) { v[j] = x[i + j]; gv[j] = dy[i + j] }
            let g = gv * (0.5 * (1 + erf16(v * 0.707_106_77)) + v * exp16(-0.5 * v * v) * 0.398_942_28)
            for j in 0..<(n - i) { dx[i + j] = accumulate ? dx[i + j] + g[j] : g[j] }
        }
    }
}
