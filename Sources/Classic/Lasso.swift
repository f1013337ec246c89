import Infer
import Training
import ModelFile

/// Lasso regression by cyclic coordinate descent on (1/2n)‖y − Xw − b‖² + λ‖w‖₁ (scikit-learn's
/// scaling of the objective), in Double. The intercept is handled by centring and not penalised.
/// Each coordinate step is the exact minimiser: wⱼ = S(⟨xⱼ, r + xⱼwⱼ⟩/n, λ) / (‖xⱼ‖²/n) with the
/// soft threshold S(z, λ) = sign(z)·max(|z| − λ, 0).
public struct Lasso: LinearRegressor {
    public struct Settings: Sendable {
        public var lambda: Double = 0.1
        public var maxSweeps = 10_000
        /// Stop when no coefficient moved more than this in a sweep.
        public var tolerance = 1e-8
        public init() {}
    }

    public let weights: [Double]
    public let intercept: Double
    public let sweeps: Int
    public let converged: Bool


    public static func fit(x: [Double], y: [Double], columns d: Int, settings: Settings = Settings()) throws -> Lasso {
        let n = y.count
        guard d > 0, n > 0, x.count == n * d else { throw LinearRegression.FitError(description: "need n × d features and n targets") }
        guard settings.lambda >= 0, settings.lambda.isFinite else { throw LinearRegression.FitError(description: "lambda must be ≥ 0") }
        guard x.allSatisfy(\.isFinite), y.allSatisfy(\.isFinite) else { throw LinearRegression.FitError(description: "features or targets contain NaN or infinity") }
        let centring = Centring(x: x, y: y, columns: d)
        // Column-major centred copy: coordinate descent walks columns.
        var cols = [Double](repeating: 0, count: n * d)
        for r in 0..<n { for c in 0..<d { cols[c * n + r] = centring.feature(x, r, c) } }
        var residual = y.map { $0 - centring.targetMean }
        var w = [Double](repeating: 0, count: d)
        let norms = (0..<d).map { c in (0..<n).reduce(0.0) { $0 + cols[c * n + $1] * cols[c * n + $1] } / Double(n) }
        var sweeps = 0, converged = false
        while sweeps < settings.maxSweeps {
            sweeps += 1
            var largest = 0.0
            for c in 0..<d where norms[c] > 0 {
                var z = 0.0
                for r in 0..<n { z += cols[c * n + r] * residual[r] }
                z = z / Double(n) + norms[c] * w[c]
                let updated = (z > 0 ? 1.0 : -1.0) * max(abs(z) - settings.lambda, 0) / norms[c]
                let delta = updated - w[c]
                if delta != 0 {
                    for r in 0..<n { residual[r] -= delta * cols[c * n + r] }
                    w[c] = updated
                    largest = max(largest, abs(delta))
                }
            }
            if largest <= settings.tolerance { converged = true; break }
        }
        return Lasso(weights: w, intercept: centring.intercept(for: w), sweeps: sweeps, converged: converged)
    }
}
