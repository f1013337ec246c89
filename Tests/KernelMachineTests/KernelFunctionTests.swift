import Testing
import Arena
import Infer
import Training
import ModelFile
import KernelMachines
import LowLevel

/// The four kernels against hand-computed values, and the block evaluation against them.
@Suite struct KernelFunctionTests {
    init() { BLAS.configure(threads: 1) }

    // x = (1, 2), z = (3, −1): ⟨x, z⟩ = 1, ‖x − z‖² = 13.
    let x: [Float] = [1, 2], z: [Float] = [3, -1]

    func k(_ kernel: KernelFunction) -> Float { kernel(x, z, count: 2) }

    @Test func handComputedValues() {
        #expect(k(.linear) == 1)
        #expect(k(.polynomial(degree: 2)) == 4)          // (1 + 1)²
        #expect(k(.polynomial(degree: 3)) == 8)          // (1 + 1)³
        #expect(abs(k(.gaussian(sigma: 13)) - 0.367_879_44) < 1e-6) // e^(−13/13)
        #expect(abs(k(.gaussian(sigma: 4)) - 0.038_774_21) < 1e-6)  // e^(−13/4)
        #expect(abs(k(.laplace(sigma: 2)) - 0.164_840_71) < 1e-6)   // e^(−√13/2)
    }

    /// `KernelBlock.compute` (one product plus norms) gives the direct values for every kernel.
    @Test(arguments: [KernelFunction.linear, .polynomial(degree: 3), .gaussian(sigma: 2.5), .laplace(sigma: 1.5)])
    func blockMatchesDirect(kernel: KernelFunction) throws {
        let arena = try ArenaAllocator(capacity: 1 << 20)
        var rng = TestRandom(seed: 7)
        let m = 5, n = 37, d = 40 // n not a multiple of 16: the tail path too
        let a = Matrix(try arena.allocateFloats(m * d), rows: m, columns: d)
        let b = Matrix(try arena.allocateFloats(n * d), rows: n, columns: d)
        for i in 0..<a.count { a.base[i] = rng.uniform() * 0.4 - 0.2 }
        for i in 0..<b.count { b.base[i] = rng.uniform() * 0.4 - 0.2 }
        let an = try arena.allocateFloats(m), bn = try arena.allocateFloats(n)
        KernelBlock.squaredNorms(a, into: an.baseAddress!)
        KernelBlock.squaredNorms(b, into: bn.baseAddress!)
        let c = try arena.allocateFloats(m * n)
        KernelBlock.compute(kernel, a: a, aNorms: an.baseAddress!, b: b, bNorms: bn.baseAddress!,
                            into: c.baseAddress!, ldc: n)
        for r in 0..<m {
            for s in 0..<n {
                let direct = kernel(a.row(r), b.row(s), count: d)
                #expect(abs(c[r * n + s] - direct) <= 2e-5 * max(1, abs(direct)), "\(kernel) [\(r), \(s)]")
            }
        }
    }

    /// σ = nil is d·Var(X) over all values (scikit-learn's gamma = "scale"); √ of it for Laplace.
    @Test func scaleHeuristic() throws {
        let arena = try ArenaAllocator(capacity: 1 << 16)
        // Values 0, 1, 2, 3 in a 2 × 2 matrix: mean 1.5, variance 1.25, d = 2 → σ = 2.5.
        let m = Matrix(try arena.allocateFloats(4), rows: 2, columns: 2)
        for i in 0..<4 { m.base[i] = Float(i) }
        #expect(abs(KernelSpec.scaleSigma(m) - 2.5) < 1e-6)
        #expect(try KernelSpec.gaussian().resolved(for: m) == .gaussian(sigma: 2.5))
        #expect(try KernelSpec.laplace().resolved(for: m) == .laplace(sigma: Float(2.5).squareRoot()))
        #expect(try KernelSpec.gaussian(sigma: 3).resolved(for: m) == .gaussian(sigma: 3))
        #expect(throws: KernelMachineError.self) { try KernelSpec.gaussian(sigma: -1).resolved(for: m) }
    }
}
