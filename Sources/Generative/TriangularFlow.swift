import Glibc
import LowLevel

/// The course's increasing triangular map on ℝ², as a normalising flow: z = T(x) with
///
///     z₁ = T₁(x₁; θ₁),   z₂ = T₂(x₂; θ₂(x₁)),
///
/// each `MonotoneMap` increasing in its own coordinate, θ₁ free parameters and θ₂ the output of a
/// small conditioner network of x₁ (tanh hidden layer). z ~ N(0, I), so by the change of variables
///
///     log p(x) = log N(T(x); 0, I) + log T₁′(x₁) + log T₂′(x₂)
///
/// (the Jacobian is triangular: its determinant is the product of the diagonal). Sampling inverts
/// T coordinate by coordinate, x₁ from z₁ and then x₂ from z₂ given x₁, each by bisection.
/// Trained by maximum likelihood with Adam, in Double; buffers are allocated once, so a training
/// step allocates nothing.
public final class TriangularFlow {
    public let terms: Int
    public let hidden: Int
    /// All parameters: θ₁, then the conditioner's W₁ [hidden], b₁ [hidden], W₂ [hidden × P] and
    /// b₂ [P], P = `MonotoneMap.parameterCount(terms:)`.
    public private(set) var parameters: [Double]
    public private(set) var gradient: [Double]
    private var firstMoment: [Double], secondMoment: [Double]
    public private(set) var steps = 0
    /// The conditioner's hidden activations and θ₂ for one sample.
    private var activations: [Double], theta2: [Double], dTheta2: [Double]

    var perMap: Int { MonotoneMap.parameterCount(terms: terms) }
    private var w1: Int { perMap }
    private var b1: Int { w1 + hidden }
    private var w2: Int { b1 + hidden }
    private var b2: Int { w2 + hidden * perMap }

    /// Random weights from `seed`: θ₁'s and the conditioner's output near the identity map's
    /// (a = 0, b = 0, small steps), the conditioner's first layer uniform in ±1.
    public init(terms: Int = 8, hidden: Int = 32, seed: UInt64 = 42) {
        precondition(terms >= 0 && hidden >= 1)
        self.terms = terms
        self.hidden = hidden
        let p = MonotoneMap.parameterCount(terms: terms), count = p + 2 * hidden + hidden * p + p
        parameters = Array(repeating: 0, count: count)
        gradient = parameters
        firstMoment = parameters
        secondMoment = parameters
        activations = Array(repeating: 0, count: hidden)
        theta2 = Array(repeating: 0, count: p)
        dTheta2 = theta2
        var random = RandomGenerator(seed: seed)
        func uniform(_ bound: Double) -> Double { bound * (2 * Double(random.nextUniform()) - 1) }
        // Each map: steps of height e⁻³ (small beside the slope-1 linear term), rates near 1, offsets spread.
        for base in [0, b2] {
            for m in 0..<terms {
                parameters[base + 2 + m] = -3
                parameters[base + 2 + terms + m] = uniform(0.5)
                parameters[base + 2 + 2 * terms + m] = uniform(2)
            }
        }
        for i in 0..<(2 * hidden) { parameters[w1 + i] = uniform(1) }
        for i in 0..<(hidden * p) { parameters[w2 + i] = uniform(0.1 / Double(hidden).squareRoot()) }
    }

    /// θ₂ = W₂ᵀ tanh(W₁x₁ + b₁) + b₂ into `theta2`, the hidden layer into `activations`.
    private func condition(_ x1: Double) {
        let p = perMap
        parameters.withUnsafeBufferPointer { w in
            activations.withUnsafeMutableBufferPointer { h in
                theta2.withUnsafeMutableBufferPointer { t in
                    for j in 0..<p { t[j] = w[b2 + j] }
                    for i in 0..<hidden {
                        h[i] = Glibc.tanh(w[w1 + i] * x1 + w[b1 + i])
                        for j in 0..<p { t[j] += h[i] * w[w2 + i * p + j] }
                    }
                }
            }
        }
    }

    /// z = T(x) and log |det ∂T/∂x|.
    public func forward(_ x: (Double, Double)) -> (z: (Double, Double), logDeterminant: Double) {
        let first = parameters.withUnsafeBufferPointer { MonotoneMap.evaluate(x.0, theta: $0.baseAddress!, terms: terms) }
        condition(x.0)
        let second = theta2.withUnsafeBufferPointer { MonotoneMap.evaluate(x.1, theta: $0.baseAddress!, terms: terms) }
        return ((first.value, second.value), Glibc.log(first.slope) + Glibc.log(second.slope))
    }

    /// log p(x) in nats.
    public func logDensity(_ x: (Double, Double)) -> Double {
        let (z, logDeterminant) = forward(x)
        return -0.5 * (z.0 * z.0 + z.1 * z.1) - Glibc.log(2 * Double.pi) + logDeterminant
    }

    /// x = T⁻¹(z), coordinate by coordinate by bisection.
    public func inverse(_ z: (Double, Double)) -> (Double, Double) {
        let x1 = parameters.withUnsafeBufferPointer { MonotoneMap.inverse(z.0, theta: $0.baseAddress!, terms: terms) }
        condition(x1)
        let x2 = theta2.withUnsafeBufferPointer { MonotoneMap.inverse(z.1, theta: $0.baseAddress!, terms: terms) }
        return (x1, x2)
    }

    /// One draw: z ~ N(0, I) from `random`, mapped back.
    public func sample(_ random: inout RandomGenerator) -> (Double, Double) {
        inverse((Double(random.nextGaussian()), Double(random.nextGaussian())))
    }

    /// The mean negative log-likelihood of `points` (x₁, x₂ pairs, flat), with its gradient left in
    /// `gradient`.
    /// - Precondition: `points` holds an even, positive number of values.
    public func negativeLogLikelihood(_ points: UnsafeBufferPointer<Double>) -> Double {
        precondition(points.count >= 2 && points.count % 2 == 0)
        let n = points.count / 2, p = perMap, inverseCount = 1 / Double(n)
        var total = 0.0
        for i in gradient.indices { gradient[i] = 0 }
        for s in 0..<n {
            let x1 = points[2 * s], x2 = points[2 * s + 1]
            condition(x1)
            parameters.withUnsafeBufferPointer { w in
                gradient.withUnsafeMutableBufferPointer { g in
                    theta2.withUnsafeBufferPointer { t in
                        dTheta2.withUnsafeMutableBufferPointer { dt in
                            activations.withUnsafeBufferPointer { h in
                                let first = MonotoneMap.evaluate(x1, theta: w.baseAddress!, terms: terms)
                                let second = MonotoneMap.evaluate(x2, theta: t.baseAddress!, terms: terms)
                                total += 0.5 * (first.value * first.value + second.value * second.value) + Glibc.log(2 * Double.pi)
                                    - Glibc.log(first.slope) - Glibc.log(second.slope)
                                // L = ½z² − log T′ per coordinate: ∂L/∂T = z, ∂L/∂T′ = −1/T′.
                                MonotoneMap.addGradient(x1, theta: w.baseAddress!, terms: terms, dValue: first.value * inverseCount,
                                                        dSlope: -inverseCount / first.slope, into: g.baseAddress!)
                                for j in 0..<p { dt[j] = 0 }
                                MonotoneMap.addGradient(x2, theta: t.baseAddress!, terms: terms, dValue: second.value * inverseCount,
                                                        dSlope: -inverseCount / second.slope, into: dt.baseAddress!)
                                // Back through θ₂ = W₂ᵀh + b₂ and h = tanh(W₁x₁ + b₁).
                                for j in 0..<p { g[b2 + j] += dt[j] }
                                for i in 0..<hidden {
                                    var dh = 0.0
                                    for j in 0..<p {
                                        g[w2 + i * p + j] += h[i] * dt[j]
                                        dh += w[w2 + i * p + j] * dt[j]
                                    }
                                    let ds = dh * (1 - h[i] * h[i])
                                    g[w1 + i] += ds * x1
                                    g[b1 + i] += ds
                                }
                            }
                        }
                    }
                }
            }
        }
        return total * inverseCount
    }

    /// One Adam step (β₁ 0.9, β₂ 0.999) on the mean negative log-likelihood of `points`; returns it.
    @discardableResult
    public func trainStep(_ points: UnsafeBufferPointer<Double>, learningRate: Double) -> Double {
        let loss = negativeLogLikelihood(points)
        steps += 1
        let beta1 = 0.9, beta2 = 0.999
        let correction1 = 1 - Glibc.pow(beta1, Double(steps)), correction2 = 1 - Glibc.pow(beta2, Double(steps))
        for i in parameters.indices {
            let g = gradient[i]
            firstMoment[i] = beta1 * firstMoment[i] + (1 - beta1) * g
            secondMoment[i] = beta2 * secondMoment[i] + (1 - beta2) * g * g
            parameters[i] -= learningRate * (firstMoment[i] / correction1) / ((secondMoment[i] / correction2).squareRoot() + 1e-8)
        }
        return loss
    }

    /// Sets one parameter (for finite differences).
    public func setParameter(_ index: Int, _ value: Double) { parameters[index] = value }
}
