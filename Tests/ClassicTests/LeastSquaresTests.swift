import Testing
import Arena
import Classic
import Infer
import Training
import ModelFile
import LowLevel

@Suite struct LeastSquaresTests {
    init() { BLAS.configure(threads: 1) }

    /// The course's example: samples (0, 1) and (ε, 1) (the columns of X = [[0, ε], [1, 1]]) with
    /// y = (1, −1). OLS interpolates: w = [−2/ε, 1], which blows up as ε → 0; ridge stays bounded.
    @Test func illConditionedExampleBlowsUpForOLSButNotRidge() throws {
        var previousNorm = 0.0
        for eps in [1e-1, 1e-2, 1e-3, 1e-4] {
            let x = [0, 1, eps, 1], y = [1.0, -1]
            var ols = LinearRegression.Settings()
            ols.fitIntercept = false
            let fit = try LinearRegression.fit(x: x, y: y, columns: 2, settings: ols)
            #expect(abs(fit.weights[0] - (-2 / eps)) <= 1e-6 * 2 / eps)
            #expect(abs(fit.weights[1] - 1) <= 1e-6)
            let norm = (fit.weights[0] * fit.weights[0] + fit.weights[1] * fit.weights[1]).squareRoot()
            #expect(norm > previousNorm * 5, "‖w‖ grows like 1/ε")
            previousNorm = norm
            var ridge = ols
            ridge.lambda = 0.1
            let r = try LinearRegression.fit(x: x, y: y, columns: 2, settings: ridge)
            // Closed form for comparison: w = (XᵀX + nλI)⁻¹Xᵀy with n = 2.
            let a = 0 + eps * eps + 0.2, b = eps, c = 2 + 0.2
            let rhs0 = eps * -1.0, rhs1 = 0.0
            let det = a * c - b * b
            #expect(abs(r.weights[0] - (c * rhs0 - b * rhs1) / det) < 1e-9)
            #expect(abs(r.weights[1] - (a * rhs1 - b * rhs0) / det) < 1e-9)
            #expect(abs(r.weights[0]) < 1 && abs(r.weights[1]) < 1, "ridge stays bounded")
        }
    }

    @Test func rankDeficientFeaturesFallBackToTheMinimumNormSolution() throws {
        // Feature 2 duplicates feature 1: XᵀX is singular. y = 3·x₁ + 1.
        let xs: [Double] = [1, 2, 3, 4, 5]
        let x = xs.flatMap { [$0, $0] }, y = xs.map { 3 * $0 + 1 }
        let fit = try LinearRegression.fit(x: x, y: y, columns: 2)
        #expect(fit.solverUsed == .svd)
        #expect(fit.rank == 1)
        // Minimum norm splits the coefficient evenly.
        #expect(abs(fit.weights[0] - 1.5) < 1e-9 && abs(fit.weights[1] - 1.5) < 1e-9)
        #expect(abs(fit.intercept - 1) < 1e-9)
        var strict = LinearRegression.Settings()
        strict.solver = .normalEquations
        #expect(throws: LinearRegression.FitError.self) { try LinearRegression.fit(x: x, y: y, columns: 2, settings: strict) }
    }

    @Test func choleskyAndSVDAgreeOnWellConditionedData() throws {
        var rng = RandomGenerator(seed: 3)
        let n = 50, d = 4
        let x = (0..<(n * d)).map { _ in Double(rng.nextGaussian()) }
        let truth = [1.5, -2.0, 0.5, 3.0]
        let y = (0..<n).map { r in (0..<d).reduce(0.7) { $0 + truth[$1] * x[r * d + $1] } + 0.01 * Double(rng.nextGaussian()) }
        var s = LinearRegression.Settings()
        s.solver = .normalEquations
        let chol = try LinearRegression.fit(x: x, y: y, columns: d, settings: s)
        s.solver = .svd
        let svd = try LinearRegression.fit(x: x, y: y, columns: d, settings: s)
        for c in 0..<d {
            #expect(abs(chol.weights[c] - svd.weights[c]) < 1e-9)
            #expect(abs(chol.weights[c] - truth[c]) < 0.02)
        }
        #expect(abs(chol.intercept - 0.7) < 0.02)
        // Ridge through the SVD (σ/(σ² + nλ)) equals ridge through Cholesky.
        s.lambda = 0.5
        let ridgeSVD = try LinearRegression.fit(x: x, y: y, columns: d, settings: s)
        s.solver = .normalEquations
        let ridgeChol = try LinearRegression.fit(x: x, y: y, columns: d, settings: s)
        for c in 0..<d { #expect(abs(ridgeSVD.weights[c] - ridgeChol.weights[c]) < 1e-9) }
    }

    @Test func lassoSoftThresholdsAnOrthogonalDesign() throws {
        // Orthogonal, centred columns with ‖xⱼ‖²/n = 1: lasso is the soft-thresholded OLS.
        let x: [Double] = [1, 1, -1, 1, 1, -1, -1, -1]  // 4 samples × 2
        let y: [Double] = [3, -1, 1, -3]
        let ols = try LinearRegression.fit(x: x, y: y, columns: 2)
        var s = Lasso.Settings()
        s.lambda = 0.5
        let lasso = try Lasso.fit(x: x, y: y, columns: 2, settings: s)
        #expect(lasso.converged)
        for c in 0..<2 {
            let expected = (ols.weights[c] > 0 ? 1.0 : -1.0) * max(abs(ols.weights[c]) - 0.5, 0)
            #expect(abs(lasso.weights[c] - expected) < 1e-9)
        }
        s.lambda = 10
        let empty = try Lasso.fit(x: x, y: y, columns: 2, settings: s)
        #expect(empty.weights == [0, 0])
        #expect(abs(empty.intercept - y.reduce(0, +) / 4) < 1e-12)
    }

    @Test func totalLeastSquaresFindsTheNullVectorAndAnErrorsInVariablesLine() throws {
        // A has rank 2 with null vector (1, −2, 1)/√6.
        let a: [Double] = [1, 1, 1, 2, 3, 4, 3, 4, 5, 0, 1, 2]
        let (v, value) = try TotalLeastSquares.smallestSingularVector(a, rows: 4, columns: 3)
        let s6 = 6.0.squareRoot()
        #expect(abs(value) < 1e-9)
        let expected = [1 / s6, -2 / s6, 1 / s6]
        let sign = v[0] * expected[0] > 0 ? 1.0 : -1.0
        for i in 0..<3 { #expect(abs(v[i] * sign - expected[i]) < 1e-9) }
        // Points symmetric about y = 2x + 1, perturbed perpendicular to it: TLS recovers the line
        // exactly, while OLS (errors in y only) is biased.
        let slope = 2.0, perp = [-2.0 / 5.0.squareRoot(), 1 / 5.0.squareRoot()]
        var xs: [Double] = [], ys: [Double] = []
        for (i, t) in [-2.0, -1, 0, 1, 2].enumerated() {
            for e in [-0.3, 0.3] {
                let offset = e * (i % 2 == 0 ? 1 : -1)
                xs.append(t + offset * perp[0]); ys.append(slope * t + 1 + offset * perp[1])
            }
        }
        let tls = try TotalLeastSquares.fit(x: xs, y: ys, columns: 1)
        #expect(abs(tls.weights[0] - slope) < 1e-9)
        #expect(abs(tls.intercept - 1) < 1e-9)
        let ols = try LinearRegression.fit(x: xs, y: ys, columns: 1)
        #expect(abs(ols.weights[0] - slope) > 1e-3)
    }

    @Test func badInputIsRejected() {
        #expect(throws: LinearRegression.FitError.self) { try LinearRegression.fit(x: [1, .nan], y: [1, 2], columns: 1) }
        #expect(throws: LinearRegression.FitError.self) { try LinearRegression.fit(x: [1, 2, 3], y: [1, 2], columns: 1) }
        var s = LinearRegression.Settings()
        s.lambda = -1
        #expect(throws: LinearRegression.FitError.self) { try LinearRegression.fit(x: [1, 2], y: [1, 2], columns: 1, settings: s) }
    }
}
