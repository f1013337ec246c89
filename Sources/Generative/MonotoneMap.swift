import Glibc

/// One coordinate of an increasing triangular map: a scalar function of x that is strictly
/// increasing for every parameter vector θ = (a, b, c₁…c_M, d₁…d_M, e₁…e_M),
///
///     T(x) = a + eᵇ·x + Σₘ e^{cₘ}·tanh(e^{dₘ}·x + eₘ),
///     T′(x) = eᵇ + Σₘ e^{cₘ + dₘ}·(1 − tanh²(e^{dₘ}·x + eₘ)) > 0,
///
/// so it is a bijection of ℝ (the linear term makes it unbounded both ways) whose inverse has no
/// closed form: `inverse` finds it by bisection. The tanh steps let it bend a Gaussian into a
/// multimodal marginal; the course's triangular flows compose one such map per coordinate, each
/// one's θ a function of the coordinates before it.
public enum MonotoneMap {
    /// Parameters per map with `terms` tanh steps.
    public static func parameterCount(terms: Int) -> Int { 2 + 3 * terms }

    /// T(x) and T′(x) for θ (`parameterCount(terms:)` values).
    /// - Precondition: `theta` holds 2 + 3·`terms` values.
    @inline(__always)
    public static func evaluate(_ x: Double, theta: UnsafePointer<Double>, terms: Int) -> (value: Double, slope: Double) {
        let scale = Glibc.exp(theta[1])
        var value = theta[0] + scale * x, slope = scale
        for m in 0..<terms {
            let height = Glibc.exp(theta[2 + m]), rate = Glibc.exp(theta[2 + terms + m])
            let u = Glibc.tanh(rate * x + theta[2 + 2 * terms + m])
            value += height * u
            slope += height * rate * (1 - u * u)
        }
        return (value, slope)
    }

    /// Adds ∂L/∂θ to `gradient` for a loss L whose derivatives with respect to T(x) and T′(x) are
    /// `dValue` and `dSlope`.
    public static func addGradient(_ x: Double, theta: UnsafePointer<Double>, terms: Int, dValue: Double, dSlope: Double,
                                   into gradient: UnsafeMutablePointer<Double>) {
        let scale = Glibc.exp(theta[1])
        gradient[0] += dValue
        gradient[1] += dValue * scale * x + dSlope * scale
        for m in 0..<terms {
            let height = Glibc.exp(theta[2 + m]), rate = Glibc.exp(theta[2 + terms + m])
            let u = Glibc.tanh(rate * x + theta[2 + 2 * terms + m]), bend = 1 - u * u
            // ∂u/∂s = 1 − u², ∂(1 − u²)/∂s = −2u(1 − u²), with s = rate·x + e.
            let slopeTerm = height * rate * bend, curvature = -2 * u * bend
            gradient[2 + m] += dValue * height * u + dSlope * slopeTerm
            gradient[2 + terms + m] += dValue * height * bend * rate * x + dSlope * (slopeTerm + height * rate * curvature * rate * x)
            gradient[2 + 2 * terms + m] += dValue * height * bend + dSlope * height * rate * curvature
        }
    }

    /// The x with T(x) = y, by bisection: the bracket doubles from [−1, 1] until it holds y, then
    /// halves until it is narrower than `tolerance` (absolute, or relative beyond |x| = 1).
    public static func inverse(_ y: Double, theta: UnsafePointer<Double>, terms: Int, tolerance: Double = 1e-12) -> Double {
        var low = -1.0, high = 1.0
        while evaluate(low, theta: theta, terms: terms).value > y, low > -1e300 { low *= 2 }
        while evaluate(high, theta: theta, terms: terms).value < y, high < 1e300 { high *= 2 }
        for _ in 0..<2100 {
            let middle = 0.5 * (low + high)
            if high - low <= tolerance * max(1, abs(middle)) || middle == low || middle == high { break }
            if evaluate(middle, theta: theta, terms: terms).value < y { low = middle } else { high = middle }
        }
        return 0.5 * (low + high)
    }
}
