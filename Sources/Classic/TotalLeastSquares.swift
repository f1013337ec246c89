import Infer
import Training
import ModelFile

/// Total least squares. `smallestSingularVector` solves min ‖Ax‖ subject to ‖x‖ = 1: the right
/// singular vector of A's smallest singular value. As regression (errors in x and y alike), the
/// centred [X, y] gives v and w = −v₁…d / v_{d+1}.
public struct TotalLeastSquares: LinearRegressor {
    public let weights: [Double]
    public let intercept: Double


    /// The unit vector x minimising ‖Ax‖ for row-major A (m × n), and the minimum ‖Ax‖ (the
    /// smallest singular value; 0 when m < n). The sign is chosen so the largest component is positive.
    public static func smallestSingularVector(_ a: [Double], rows m: Int, columns n: Int) throws -> (vector: [Double], value: Double) {
        guard m > 0, n > 0, a.count == m * n, a.allSatisfy(\.isFinite) else {
            throw LinearRegression.FitError(description: "need a finite m × n matrix")
        }
        var copy = a
        guard let (s, _, vt) = copy.withUnsafeMutableBufferPointer({ LAPACK.svd($0.baseAddress!, m: m, n: n) }) else {
            throw LinearRegression.FitError(description: "the SVD did not converge")
        }
        // With m < n there are more right singular vectors than values; the extra ones span the null space.
        let last = n - 1
        var v = Array(vt[(last * n)..<((last + 1) * n)])
        if let big = v.indices.max(by: { abs(v[$0]) < abs(v[$1]) }), v[big] < 0 { v = v.map { -$0 } }
        return (v, m >= n ? s[last] : 0)
    }

    public static func fit(x: [Double], y: [Double], columns d: Int) throws -> TotalLeastSquares {
        let n = y.count
        guard d > 0, n > d, x.count == n * d else { throw LinearRegression.FitError(description: "need more samples than features") }
        let centring = Centring(x: x, y: y, columns: d)
        var a = [Double](repeating: 0, count: n * (d + 1))
        for r in 0..<n {
            for c in 0..<d { a[r * (d + 1) + c] = centring.feature(x, r, c) }
            a[r * (d + 1) + d] = y[r] - centring.targetMean
        }
        let (v, _) = try smallestSingularVector(a, rows: n, columns: d + 1)
        guard abs(v[d]) > 1e-12 else { throw LinearRegression.FitError(description: "the best-fitting plane is parallel to the y axis") }
        let w = (0..<d).map { -v[$0] / v[d] }
        return TotalLeastSquares(weights: w, intercept: centring.intercept(for: w))
    }
}
