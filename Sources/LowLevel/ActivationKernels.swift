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
            let negative = (exp16(pointwiseMin(x, SIMD16<Float>())) - 1) * alpha
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
            let magnitude = 1 - 2 / (exp16(2 * pointwiseMin(x.replacing(with: -x, where: x .< 0), SIMD16(repeating: 20))) + 1)
            return magnitude.replacing(with: -magnitude, where: x .< 0)
        }
    }

    /// dx = dy·(1 − y²).
    public static func tanhBackward(output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                                    into dx: UnsafeMutablePointer<Float>, count n: Int) {
        zipMap16(y, dy, dx, n) { y, dy in dy * (1 - y * y) }
    }
}
