import Arena
import Infer
import Training
import ModelFile

/// Linear regression y ≈ ⟨w, x⟩ + b by least squares, in Double.
///
/// - Ordinary least squares: the normal equations XᵀX w = Xᵀy solved by Cholesky (LAPACK), or,
///   when XᵀX is singular or too ill-conditioned for that, w = X⁺y through the SVD pseudo-inverse
///   (singular values below `rcond`·σ_max are treated as zero, giving the minimum-norm solution).
/// - Ridge: the course's closed form W = YXᵀ(XXᵀ + nλI)⁻¹ (samples as columns), i.e. with samples
///   as rows w = (XᵀX + nλI)⁻¹Xᵀy: the mean squared error plus λ‖w‖².
/// With an intercept, X and y are centred first so b = ȳ − ⟨w, x̄⟩ is never penalised.
public struct LinearRegression: LinearRegressor {
    public enum Solver: String, Sendable { case automatic, normalEquations = "cholesky", svd }

    public struct Settings: Sendable {
        /// Ridge strength λ (0: ordinary least squares).
        public var lambda: Double = 0
        public var fitIntercept = true
        public var solver = Solver.automatic
        /// Relative cut-off for singular values in the pseudo-inverse.
        public var rcond = 1e-10
        public init() {}
    }

    public let weights: [Double]
    public let intercept: Double
    /// The solver actually used (automatic resolves to one of the others).
    public let solverUsed: Solver
    /// Numerical rank of the centred X (from the SVD; the feature count for Cholesky).
    public let rank: Int


    public struct FitError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Fits row-major `x` (n × d) to `y` (n).
    public static func fit(x: [Double], y: [Double], columns d: Int, settings: Settings = Settings()) throws -> LinearRegression {
        let n = y.count
        guard d > 0, x.count == n * d, n > 0 else { throw FitError(description: "need n × d features and n targets, got \(x.count) values, \(n) targets, d = \(d)") }
        guard settings.lambda >= 0, settings.lambda.isFinite else { throw FitError(description: "lambda must be ≥ 0") }
        guard x.allSatisfy(\.isFinite), y.allSatisfy(\.isFinite) else { throw FitError(description: "features or targets contain NaN or infinity") }
        let centring = Centring(x: x, y: y, columns: d, enabled: settings.fitIntercept)
        var xc = x
        for r in 0..<n { for c in 0..<d { xc[r * d + c] = centring.feature(x, r, c) } }
        let yc = y.map { $0 - centring.targetMean }

        var w: [Double]? = nil, used = Solver.normalEquations, rank = d
        if settings.solver != .svd {
            // Gram matrix and right-hand side.
            var g = [Double](repeating: 0, count: d * d), rhs = [Double](repeating: 0, count: d)
            for r in 0..<n {
                for i in 0..<d {
                    let xi = xc[r * d + i]
                    rhs[i] += xi * yc[r]
                    for j in 0...i { g[i * d + j] += xi * xc[r * d + j] }
                }
            }
            for i in 0..<d { for j in 0..<i { g[j * d + i] = g[i * d + j] } }
            for i in 0..<d { g[i * d + i] += Double(n) * settings.lambda }
            var diagMax = 0.0
            for i in 0..<d { diagMax = max(diagMax, g[i * d + i]) }
            let solved = g.withUnsafeMutableBufferPointer { a in
                rhs.withUnsafeMutableBufferPointer { b in LAPACK.solvePositiveDefinite(a.baseAddress!, n: d, b.baseAddress!, nrhs: 1) }
            }
            // The Cholesky factor's diagonal bounds the conditioning: a pivot tiny against the
            // largest diagonal entry means the normal equations lost too many digits.
            var pivotsOK = solved
            if solved { for i in 0..<d where g[i * d + i] * g[i * d + i] < 1e-13 * diagMax { pivotsOK = false } }
            if pivotsOK || settings.solver == .normalEquations {
                guard solved else { throw FitError(description: "XᵀX + nλI is not positive definite: the features are linearly dependent; use the SVD solver or λ > 0") }
                w = rhs
            }
        }
        if w == nil {
            used = .svd
            (w, rank) = try pseudoInverseSolve(xc, yc, rows: n, columns: d, lambda: Double(n) * settings.lambda, rcond: settings.rcond)
        }
        let weights = w!
        return LinearRegression(weights: weights, intercept: centring.intercept(for: weights), solverUsed: used, rank: rank)
    }

    /// w = V diag(σᵢ/(σᵢ² + μ)) Uᵀy (μ = nλ; with μ = 0 the pseudo-inverse X⁺y, dropping σᵢ ≤ rcond·σ₁).
    static func pseudoInverseSolve(_ x: [Double], _ y: [Double], rows n: Int, columns d: Int, lambda mu: Double,
                                   rcond: Double) throws -> ([Double], Int) {
        var a = x
        guard let (s, u, vt) = a.withUnsafeMutableBufferPointer({ LAPACK.svd($0.baseAddress!, m: n, n: d) }) else {
            throw FitError(description: "the SVD did not converge")
        }
        var w = [Double](repeating: 0, count: d), rank = 0
        let cutoff = rcond * (s.first ?? 0)
        for i in 0..<s.count where s[i] > cutoff {
            rank += 1
            var uty = 0.0
            for r in 0..<n { uty += u[r * n + i] * y[r] }
            let factor = s[i] / (s[i] * s[i] + mu) * uty
            for c in 0..<d { w[c] += factor * vt[i * d + c] }
        }
        return (w, rank)
    }
}

extension SampleSet {
    /// Features and targets as Double arrays (for the Double-precision solvers).
    public func doubles() -> (x: [Double], y: [Double]) {
        let x = (0..<(count * featureCount)).map { Double(features.base[$0]) }
        let y = isClassification ? (0..<count).map { Double(labels[$0]) } : (0..<count).map { Double(targets[$0]) }
        return (x, y)
    }
}
