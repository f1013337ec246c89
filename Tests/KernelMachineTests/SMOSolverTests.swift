import Testing
import Arena
import Infer
import Training
import ModelFile
import KernelMachines
import LowLevel

/// SMO on small problems whose solutions are known in closed form.
@Suite struct SMOSolverTests {
    init() { BLAS.configure(threads: 1) }

    struct Solved {
        let alpha: [Double]
        let bias: Double
        let w: [Double]          // Σ αᵢ yᵢ xᵢ (linear kernel)
        let margins: [Double]    // yᵢ f(xᵢ)
        let result: SMOResult
    }

    func solve(_ points: [[Float]], _ labels: [Float], kernel: KernelFunction = .linear, C: Double,
               arena: ArenaAllocator) throws -> Solved {
        let n = points.count, d = points[0].count
        let x = Matrix(try arena.allocateFloats(n * d), rows: n, columns: d)
        for i in 0..<n { for c in 0..<d { x[i, c] = points[i][c] } }
        let y = try arena.allocateFloats(n)
        for i in 0..<n { y[i] = labels[i] }
        let cache = try KernelRowCache(points: x, kernel: kernel, byteBudget: 1 << 16, arena: arena)
        let r = try SMOSolver.solve(labels: y.baseAddress!, cache: cache, C: C, arena: arena)
        let alpha = Array(r.alpha)
        var w = [Double](repeating: 0, count: d)
        for i in 0..<n { for c in 0..<d { w[c] += alpha[i] * Double(labels[i] * points[i][c]) } }
        let margins = (0..<n).map { i in
            var f = r.bias
            for j in 0..<n {
                f += alpha[j] * Double(labels[j]) * Double(kernel(x.row(j), x.row(i), count: d))
            }
            return Double(labels[i]) * f
        }
        return Solved(alpha: alpha, bias: r.bias, w: w, margins: margins, result: r)
    }

    /// The KKT conditions of the C-SVC dual, to `tolerance`, and the constraints.
    func checkKKT(_ s: Solved, labels: [Float], C: Double, tolerance: Double = 2e-3) {
        var balance = 0.0
        for (i, a) in s.alpha.enumerated() {
            #expect(a >= 0 && a <= C, "α[\(i)] = \(a) outside [0, \(C)]")
            balance += a * Double(labels[i])
            if a == 0 { #expect(s.margins[i] >= 1 - tolerance, "α[\(i)] = 0 but yf = \(s.margins[i])") }
            else if a == C { #expect(s.margins[i] <= 1 + tolerance, "α[\(i)] = C but yf = \(s.margins[i])") }
            else { #expect(abs(s.margins[i] - 1) <= tolerance, "free α[\(i)] but yf = \(s.margins[i])") }
        }
        #expect(abs(balance) < 1e-9, "Σ αᵢyᵢ = \(balance)")
        #expect(s.result.converged && s.result.gap < 1e-3)
    }

    // Separable: the closest pair across the classes is (2, 0) and (0, 0), so the maximum-margin
    // line is x₁ = 1: w = (1, 0), b = −1, and w = Σ αᵢyᵢxᵢ with Σ αᵢyᵢ = 0 gives α = 1/2 on those
    // two points and 0 elsewhere.
    let points: [[Float]] = [[2, 0], [3, 1], [3, -1], [0, 0], [-1, 1], [-1, -1]]
    let labels: [Float] = [1, 1, 1, -1, -1, -1]

    @Test func hardMarginMatchesClosedForm() throws {
        let arena = try ArenaAllocator(capacity: 1 << 20)
        let C = 1e6
        let s = try solve(points, labels, C: C, arena: arena)
        #expect(abs(s.w[0] - 1) < 1e-3 && abs(s.w[1]) < 1e-3, "w = \(s.w)")
        #expect(abs(s.bias + 1) < 1e-3, "b = \(s.bias)")
        #expect(abs(s.alpha[0] - 0.5) < 1e-3 && abs(s.alpha[3] - 0.5) < 1e-3, "α = \(s.alpha)")
        for i in [1, 2, 4, 5] { #expect(s.alpha[i] == 0) }
        // The dual optimum is −½‖w‖² = −½.
        #expect(abs(s.result.objective + 0.5) < 1e-3)
        checkKKT(s, labels: labels, C: C)
    }

    /// A negative point inside the positive cloud cannot be separated: with a soft margin its α
    /// sits at C and it is on the wrong side; the rest still satisfy the KKT conditions.
    @Test func softMarginOutlierAtBound() throws {
        let arena = try ArenaAllocator(capacity: 1 << 20)
        let C = 0.5
        let p = points + [[2.5, 0]], y = labels + [-1]
        let s = try solve(p, y, C: C, arena: arena)
        #expect(s.alpha[6] == C, "outlier α = \(s.alpha[6])")
        #expect(s.margins[6] < 0) // misclassified
        checkKKT(s, labels: y, C: C)
        // Hard margin on the same data cannot reach the bound's α; the soft one stays in the box.
        #expect(s.alpha.allSatisfy { $0 <= C })
    }

    /// A Gaussian-kernel problem: the KKT conditions, and the dual objective no worse than at a
    /// perturbed feasible point (a local check that the optimum was found).
    @Test func gaussianKKT() throws {
        let arena = try ArenaAllocator(capacity: 1 << 20)
        var rng = TestRandom(seed: 11)
        var p: [[Float]] = [], y: [Float] = []
        for _ in 0..<30 {
            let a = rng.uniform() * 4 - 2, b = rng.uniform() * 4 - 2
            p.append([a, b]); y.append(a * a + b * b < 1.6 ? 1 : -1)
        }
        let s = try solve(p, y, kernel: .gaussian(sigma: 1), C: 10, arena: arena)
        checkKKT(s, labels: y, C: 10)
        #expect(s.margins.filter { $0 > 0 }.count >= 28) // nearly all training points right
    }

    /// The iteration guard stops early and says so.
    @Test func iterationLimitReported() throws {
        let arena = try ArenaAllocator(capacity: 1 << 20)
        let n = 6, d = 2
        let x = Matrix(try arena.allocateFloats(n * d), rows: n, columns: d)
        for i in 0..<n { for c in 0..<d { x[i, c] = points[i][c] } }
        let y = try arena.allocateFloats(n)
        for i in 0..<n { y[i] = labels[i] }
        let cache = try KernelRowCache(points: x, kernel: .gaussian(sigma: 0.5), byteBudget: 1 << 16, arena: arena)
        let r = try SMOSolver.solve(labels: y.baseAddress!, cache: cache, C: 100, maxIterations: 1, arena: arena)
        #expect(r.iterations == 1 && !r.converged && r.gap >= 1e-3)
    }
}
