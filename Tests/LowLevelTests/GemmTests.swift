import Testing
import LowLevel

/// Row-major reference product with explicit strides.
private func naiveGemm(_ ta: Transpose, _ tb: Transpose, m: Int, n: Int, k: Int, alpha: Float,
                       a: [Float], lda: Int, b: [Float], ldb: Int, beta: Float, c: inout [Float], ldc: Int) {
    for i in 0..<m {
        for j in 0..<n {
            var s: Double = 0
            for p in 0..<k {
                let av = ta == .none ? a[i * lda + p] : a[p * lda + i]
                let bv = tb == .none ? b[p * ldb + j] : b[j * ldb + p]
                s += Double(av) * Double(bv)
            }
            c[i * ldc + j] = alpha * Float(s) + beta * c[i * ldc + j]
        }
    }
}

@Suite struct GemmTests {
    init() { BLAS.configure(threads: 1) }

    @Test(arguments: [(1, 7, 5), (6, 1, 9), (1, 1, 3), (17, 33, 65), (64, 10, 128), (3, 130, 1)])
    func matchesNaiveProductForEveryTransposeCase(shape: (Int, Int, Int)) {
        let (m, n, k) = shape
        var rng = SplitMix(seed: UInt64(m * 1000 + n * 10 + k))
        for ta in [Transpose.none, .transposed] {
            for tb in [Transpose.none, .transposed] {
                // Strides one wider than needed, so the tests also cover lda/ldb/ldc > row length.
                let aRows = ta == .none ? m : k, aCols = ta == .none ? k : m
                let bRows = tb == .none ? k : n, bCols = tb == .none ? n : k
                let lda = aCols + 1, ldb = bCols + 1, ldc = n + 1
                let a = (0..<(aRows * lda)).map { _ in rng.nextFloat() }
                let b = (0..<(bRows * ldb)).map { _ in rng.nextFloat() }
                let c0 = (0..<(m * ldc)).map { _ in rng.nextFloat() }
                var expected = c0
                naiveGemm(ta, tb, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb,
                          beta: 2, c: &expected, ldc: ldc)
                var got = c0
                got.withUnsafeMutableBufferPointer { cp in
                    Kernels.gemm(ta, tb, m: m, n: n, k: k, alpha: 0.5, a: a, lda: lda, b: b, ldb: ldb,
                                 beta: 2, c: cp.baseAddress!, ldc: ldc)
                }
                for i in 0..<m {
                    for j in 0..<n {
                        let e = expected[i * ldc + j], g = got[i * ldc + j]
                        #expect(abs(e - g) <= 1e-4 * max(1, abs(e)), "\(ta) \(tb) [\(i),\(j)]")
                    }
                    // Padding columns are untouched.
                    #expect(got[i * ldc + n] == c0[i * ldc + n])
                }
            }
        }
    }

    /// On a CPU with AVX2 + FMA (every AVX-512 CPU has them too), OpenBLAS must not be left on a
    /// generic SSE kernel, whichever vector kernel it picks (SkylakeX on Xeons, Cooperlake on Zen 4,
    /// Zen or Haswell on Zen 3), and on an AVX-512 CPU not on an AVX2 one either (OpenBLAS 0.3.21
    /// gives a Zen 5 its Haswell kernels). A kernel the user forced is theirs to choose.
    @Test func kernelSelectionAvoidsGenericKernelWhenCPUHasVectorUnits() throws {
        let report = BLAS.kernelReport
        #expect(!report.isEmpty)
        #expect(BLAS.isGenericKernel("Prescott") && BLAS.isGenericKernel("NEHALEM") && !BLAS.isGenericKernel("Cooperlake")
                && !BLAS.isGenericKernel("SkylakeX") && !BLAS.isGenericKernel("Zen") && !BLAS.isGenericKernel("Haswell"))
        guard BLAS.cpuHasAVX2, !report.contains("set by the user") else { return }
        #expect(!BLAS.isGenericKernel(BLAS.coreName), "\(report)")
        if BLAS.cpuHasAVX512 { #expect(!["haswell", "zen"].contains(BLAS.coreName.lowercased()), "\(report)") }
    }
}
