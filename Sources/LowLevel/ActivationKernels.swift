/// Element-wise activations and their derivatives. Each forward may run in place (`y` == `x`).
/// Each backward takes the forward *output* `y` (all four derivatives are functions of it), the
/// gradient with respect to the output `dy`, and writes the gradient with respect to the input `dx`
/// (which may be `dy`).
extension Kernels {
    /// y = max(x, 0).
    public static func relu(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count n: Int) {
        map16(x, y, n) { pointwiseMax($0, SIMD16<Float>()) }
    }

    /// dx = dy where y > 0, else 0.
    public static func reluBackward(output y: UnsafePointer<Float>, outputGradient dy: UnsafePointer<Float>,
                                    into dx: UnsafeMutablePointer<Float>, count n: Int) {
        zipMap16(y, dy, dx, n) { y, dy in dy.replacing(with: 0, where: y .<= 0) }
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
