/// The arithmetic of one reverse step of a DDPM, shared by the trainer's samplers and the runtime
/// (which reads ᾱ from the model file): x is updated in place from the predicted noise ε̂.
/// `alphaBar` values are ᾱ_t = Π_{s ≤ t} (1 − β_s), with ᾱ_0 = 1; the arithmetic is in Double.
public enum DiffusionStep {
    /// x̂_0 = (x − √(1 − ᾱ_t)·ε̂)/√ᾱ_t, the clean image the prediction implies, with `clip`
    /// clamped to the data's range [−1, 1].
    @inline(__always) static func clean(_ x: Double, _ e: Double, keep: Double, scale: Double, clip: Bool) -> Double {
        let x0 = (x - keep * e) * scale
        return clip ? min(max(x0, -1), 1) : x0
    }

    /// DDPM's ancestral step from t to t − 1, the Euler–Maruyama step of the reverse SDE:
    /// x ← (x − β_t/√(1 − ᾱ_t)·ε̂)/√(1 − β_t) + √β_t·z with β_t = 1 − ᾱ_t/ᾱ_{t−1} and one
    /// z ~ N(0, 1) per element drawn from `random` in order, none when `last` (the step to t = 0).
    /// The mean is computed in its equal form through x̂_0, μ = √ᾱ_{t−1}·β_t/(1 − ᾱ_t)·x̂_0 +
    /// √(1 − β_t)·(1 − ᾱ_{t−1})/(1 − ᾱ_t)·x, so that with `clip` x̂_0 stays in [−1, 1] (what
    /// DDPM's reference implementation does; it keeps an imperfect ε̂ from being amplified by
    /// 1/√ᾱ_t at the noisiest steps). Unclipped, both forms are the same step.
    public static func ancestral(_ x: UnsafeMutablePointer<Float>, count: Int, epsilon: UnsafePointer<Float>,
                                 alphaBar: Double, previous: Double, last: Bool, clip: Bool, random: inout RandomGenerator) {
        let beta = 1 - alphaBar / previous
        let keep = (1 - alphaBar).squareRoot(), scale = 1 / alphaBar.squareRoot(), sigma = beta.squareRoot()
        let a = previous.squareRoot() * beta / (1 - alphaBar), b = (1 - beta).squareRoot() * (1 - previous) / (1 - alphaBar)
        for i in 0..<count {
            let xi = Double(x[i])
            var v = a * clean(xi, Double(epsilon[i]), keep: keep, scale: scale, clip: clip) + b * xi
            if !last { v += sigma * Double(random.nextGaussian()) }
            x[i] = Float(v)
        }
    }

    /// The deterministic DDIM step along the probability-flow ODE from ᾱ_t to ᾱ_s (s < t, ᾱ_0 = 1):
    /// x ← √ᾱ_s·x̂_0 + √(1 − ᾱ_s)·ε̂. With `clip`, x̂_0 is clamped to [−1, 1] and ε̂ replaced by
    /// the noise consistent with it, (x − √ᾱ_t·x̂_0)/√(1 − ᾱ_t).
    public static func ode(_ x: UnsafeMutablePointer<Float>, count: Int, epsilon: UnsafePointer<Float>,
                           alphaBar: Double, target: Double, clip: Bool) {
        let keep = (1 - alphaBar).squareRoot(), scale = 1 / alphaBar.squareRoot(), root = alphaBar.squareRoot()
        let a = target.squareRoot(), b = (1 - target).squareRoot()
        for i in 0..<count {
            let xi = Double(x[i]), e = Double(epsilon[i])
            let x0 = clean(xi, e, keep: keep, scale: scale, clip: clip)
            let noise = clip ? (xi - root * x0) / keep : e
            x[i] = Float(a * x0 + b * noise)
        }
    }

    /// The i-th time (0-based) of the ODE sampler's `k` steps over `steps` (T): round(T·(k − i)/k),
    /// from T down, evenly spaced; distinct and ≥ 1 for k ≤ T; 0 for i = k (the end).
    /// - Precondition: 1 ≤ k ≤ steps, 0 ≤ i ≤ k.
    @inline(__always) public static func odeTime(_ i: Int, of k: Int, steps: Int) -> Int {
        Int((Double(steps) * Double(k - i) / Double(k)).rounded())
    }
}
