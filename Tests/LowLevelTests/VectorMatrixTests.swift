import Testing
import LowLevel

/// Row vector times matrix, the single-sample dense layer: every column-count regime (64-column
/// passes, 48/32/16-column passes, tails under 16, and the one-pass path of AVX-512 builds for 5 to
/// 8 vectors, whose last vector is partial) against a double-precision reference, overwriting
/// and accumulating, with a row stride wider than the row.
@Suite struct VectorMatrixTests {
    @Test(arguments: [1, 10, 16, 64, 70, 84, 96, 100, 120, 128, 130, 200])
    func matchesAReferenceProduct(columns n: Int) {
        for m in [1, 2, 5, 400] {
            for ld in [n, n + 3] {
                let x = randomArray(m, seed: UInt64(n * 7 + m)), matrix = randomArray(m * ld, seed: UInt64(n + m))
                let y0 = randomArray(n, seed: 99)
                for accumulate in [false, true] {
                    var y = y0
                    x.withUnsafeBufferPointer { xb in
                        matrix.withUnsafeBufferPointer { mb in
                            y.withUnsafeMutableBufferPointer { yb in
                                Kernels.vectorMatrix(xb.baseAddress!, rows: m, matrix: mb.baseAddress!, ld: ld, columns: n,
                                                     into: yb.baseAddress!, accumulate: accumulate)
                            }
                        }
                    }
                    var worst = 0.0
                    for c in 0..<n {
                        var expected = accumulate ? Double(y0[c]) : 0
                        for i in 0..<m { expected += Double(x[i]) * Double(matrix[i * ld + c]) }
                        worst = max(worst, abs(Double(y[c]) - expected))
                    }
                    #expect(worst < 1e-4 * Double(m).squareRoot() + 1e-6, "m \(m) n \(n) ld \(ld) accumulate \(accumulate): off by \(worst)")
                }
            }
        }
    }
}
