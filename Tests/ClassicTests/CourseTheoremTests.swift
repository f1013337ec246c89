import Testing
import Foundation
import Arena
import Classic
import Infer
import Training
import ModelFile
import LowLevel

/// The course's named results demonstrated numerically, each bound computed from the problem's
/// own constants (issue 15). Gradient steps run through the project's kernels (gemm for ∇f = Ax − b,
/// axpy for the step); m and L come from LAPACK's eigenvalues of A.
@Suite struct CourseTheoremTests {
    /// A random symmetric positive definite A = BᵀB + εI (n × n), b, and the constants m, L.
    func quadratic(n: Int, seed: UInt64) -> (a: [Float], b: [Float], m: Double, l: Double) {
        var rng = RandomGenerator(seed: seed)
        let root = (0..<(n * n)).map { _ in rng.nextGaussian() / Float(n).squareRoot() }
        var a = [Float](repeating: 0, count: n * n)
        for i in 0..<n { for j in 0..<n { for k in 0..<n { a[i * n + j] += root[k * n + i] * root[k * n + j] } } }
        for i in 0..<n { a[i * n + i] += 0.05 }
        var doubles = a.map(Double.init)
        let eigenvalues = doubles.withUnsafeMutableBufferPointer { LAPACK.symmetricEigenvalues($0.baseAddress!, n: n)! }
        return (a, (0..<n).map { _ in rng.nextGaussian() }, eigenvalues.first!, eigenvalues.last!)
    }

    /// f(x) = ½xᵀAx − bᵀx, its gradient Ax − b, and x* = A⁻¹b (by LAPACK).
    struct Quadratic {
        let a: [Float], b: [Float], n: Int
        func value(_ x: [Float]) -> Double {
            var total = 0.0
            for i in 0..<n {
                var ax = 0.0
                for j in 0..<n { ax += Double(a[i * n + j]) * Double(x[j]) }
                total += 0.5 * Double(x[i]) * ax - Double(b[i]) * Double(x[i])
            }
            return total
        }
        func gradient(_ x: [Float], into g: inout [Float]) {
            g = b.map { -$0 }
            g.withUnsafeMutableBufferPointer { gp in
                Kernels.gemm(.none, .none, m: n, n: 1, k: n, alpha: 1, a: a, lda: n, b: x, ldb: 1, beta: 1, c: gp.baseAddress!, ldc: 1)
            }
        }
        var minimiser: [Double] {
            var m = a.map(Double.init), rhs = b.map(Double.init)
            _ = m.withUnsafeMutableBufferPointer { mp in rhs.withUnsafeMutableBufferPointer { LAPACK.solvePositiveDefinite(mp.baseAddress!, n: n, $0.baseAddress!, nrhs: 1) } }
            return rhs
        }
    }

    func distanceSquared(_ x: [Float], _ y: [Double]) -> Double { zip(x, y).reduce(0) { $0 + (Double($1.0) - $1.1) * (Double($1.0) - $1.1) } }

    /// Theorem 8.5: on a convex L-smooth f, gradient descent with t = 1/L meets
    /// f(x_k) − f* ≤ ‖x₀ − x*‖²/(2tk) at every k.
    @Test func theorem8_5ConvexSublinearRate() {
        let n = 12
        let (a, b, _, l) = quadratic(n: n, seed: 41)
        let f = Quadratic(a: a, b: b, n: n)
        let star = f.minimiser
        let fStar = f.value(star.map(Float.init))
        var x = [Float](repeating: 3, count: n), g = x
        let t = 1 / l, start = distanceSquared(x, star)
        for k in 1...300 {
            f.gradient(x, into: &g)
            Kernels.axpy(Float(-t), g, &x, count: n)
            let gap = f.value(x) - fStar, bound = start / (2 * t * Double(k))
            #expect(gap <= bound * (1 + 1e-4) + 1e-5, "k = \(k): gap \(gap), bound \(bound)")
        }
    }

    /// Theorem 8.7: on an m-strongly convex L-smooth f with t ≤ 2/(m + L), gradient descent
    /// converges linearly: ‖x_k − x*‖² ≤ (1 − 2tmL/(m + L))^k ‖x₀ − x*‖².
    @Test(arguments: [1.0, 0.5]) func theorem8_7StronglyConvexLinearRate(fractionOfLargestStep: Double) {
        let n = 10
        let (a, b, m, l) = quadratic(n: n, seed: 42)
        let f = Quadratic(a: a, b: b, n: n)
        let star = f.minimiser
        let t = fractionOfLargestStep * 2 / (m + l), c = 1 - 2 * t * m * l / (m + l)
        #expect(c > 0 && c < 1)
        var x = [Float](repeating: -2, count: n), g = x
        let start = distanceSquared(x, star)
        for k in 1...200 {
            f.gradient(x, into: &g)
            Kernels.axpy(Float(-t), g, &x, count: n)
            let bound = Foundation.pow(c, Double(k)) * start
            #expect(distanceSquared(x, star) <= bound * (1 + 1e-3) + 1e-8, "k = \(k)")
        }
    }

    /// Theorem 8.8: on a non-convex L-smooth f with t = 1/L, min over the first K steps of
    /// ‖∇f(x_k)‖² ≤ 2L(f(x₀) − f*)/K. Here f(x) = Σ xᵢ²/2 + 2cos xᵢ: f'' = 1 − 2cos x ∈ [−1, 3],
    /// so L = 3, and f* is below n times the one-dimensional minimum (found on a fine grid).
    @Test func theorem8_8NonConvexStationarity() {
        let n = 8, l = 3.0
        let oneDimensional = stride(from: -4.0, through: 4.0, by: 1e-4).map { $0 * $0 / 2 + 2 * Foundation.cos($0) }.min()! - 1e-6
        func f(_ x: [Double]) -> Double { x.reduce(0) { $0 + $1 * $1 / 2 + 2 * Foundation.cos($1) } }
        var x = (0..<n).map { Double($0) * 0.37 - 1.3 }
        let start = f(x), fStar = Double(n) * oneDimensional
        var smallest = Double.infinity
        for k in 1...400 {
            let g = x.map { $0 - 2 * Foundation.sin($0) }
            smallest = min(smallest, g.reduce(0) { $0 + $1 * $1 })
            #expect(smallest <= 2 * l * (start - fStar) / Double(k) + 1e-12, "K = \(k)")
            x = zip(x, g).map { $0 - $1 / l }
        }
    }

    /// Cover–Hart: 1-NN's error on two unit-variance Gaussians at ±(1, 0) (Bayes error
    /// p* = Φ(−1)) stays within 2p*(1 − p*) as n grows, and never beats p*.
    @Test func coverHartBoundOnTwoGaussians() throws {
        let pStar = 0.5 * erfc(1 / 2.0.squareRoot()), bound = 2 * pStar * (1 - pStar)
        var rng = RandomGenerator(seed: 43)
        func sample(_ count: Int) -> ([Float], [Int32]) {
            var x: [Float] = [], y: [Int32] = []
            for _ in 0..<count {
                let c = Int32(rng.nextIndex(below: 2))
                x += [rng.nextGaussian() + (c == 1 ? 1 : -1), rng.nextGaussian()]
                y.append(c)
            }
            return (x, y)
        }
        let testCount = 6000
        let (testX, testY) = sample(testCount)
        let slack = 3 * (bound * (1 - bound) / Double(testCount)).squareRoot()
        for n in [200, 800, 3200] {
            let arena = try ArenaAllocator(capacity: 64 << 20)
            let (x, y) = sample(n)
            let train = try SampleSet(values: x, rows: n, columns: 2, labels: y, classCount: 2, arena: arena)
            let test = try SampleSet(values: testX, rows: testCount, columns: 2, labels: testY, classCount: 2, arena: arena)
            let error = 1 - (try NearestNeighbours.fit(train, k: 1, arena: arena).accuracy(on: test, arena: arena))
            #expect(error <= bound + slack, "n = \(n): 1-NN error \(error), Cover–Hart bound \(bound)")
            #expect(error >= pStar - slack, "n = \(n): 1-NN error \(error) below the Bayes error \(pStar)")
        }
    }

    /// The curse of dimensionality: for N points uniform in the unit ball of dimension p, the
    /// median distance from the origin to the nearest one is (1 − (1/2)^{1/N})^{1/p}, which tends
    /// to 1 as p grows (the data crowd the boundary). Measured with the project's distance kernel.
    @Test func medianNearestNeighbourDistanceGrowsWithDimension() {
        var rng = RandomGenerator(seed: 44)
        let points = 200, trials = 301
        var medians: [Double] = []
        for p in [1, 2, 5, 10, 20] {
            var nearest: [Double] = []
            let origin = [Float](repeating: 0, count: p)
            for _ in 0..<trials {
                var best = Float.infinity
                for _ in 0..<points {
                    // Uniform in the ball: a Gaussian direction, radius U^{1/p}.
                    var v = (0..<p).map { _ in rng.nextGaussian() }
                    let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
                    let radius = Float(Foundation.pow(Double(rng.nextUniform()), 1 / Double(p)))
                    v = v.map { $0 / norm * radius }
                    best = min(best, Kernels.squaredDistance(v, origin, count: p))
                }
                nearest.append(Double(best.squareRoot()))
            }
            let median = nearest.sorted()[trials / 2]
            let predicted = Foundation.pow(1 - Foundation.pow(0.5, 1 / Double(points)), 1 / Double(p))
            #expect(abs(median - predicted) < 0.15 * predicted + 0.01, "p = \(p): median \(median), predicted \(predicted)")
            medians.append(median)
        }
        #expect(zip(medians, medians.dropFirst()).allSatisfy { $0 < $1 }, "\(medians)")
        #expect(medians.last! > 0.7)
    }
}
