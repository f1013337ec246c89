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

    /// The sparse product over the same column regimes, with row sets that include and leave out
    /// the matrix's last row (whose partial vector must not be read past the matrix's end).
    @Test(arguments: [10, 64, 84, 100, 120, 128, 130])
    func sparseRowsMatchAReferenceProduct(columns n: Int) {
        let m = 50, ld = n + 1
        let matrix = randomArray((m - 1) * ld + n, seed: UInt64(n)) // ends exactly at the last row's last column
        let rowSets: [[Int32]] = [[3, 7, 49], [0, 1, 2, 48], [49], Array(0..<50)]
        for rows in rowSets {
            let coefficients = randomArray(rows.count, seed: UInt64(rows.count + n))
            let y0 = randomArray(n, seed: 5)
            for accumulate in [false, true] {
                var y = y0
                matrix.withUnsafeBufferPointer { mb in
                    Kernels.sparseRowCombination(coefficients: coefficients, rows: rows, count: rows.count, matrix: mb.baseAddress!,
                                                 ld: ld, columns: n, into: &y, accumulate: accumulate)
                }
                var worst = 0.0
                for c in 0..<n {
                    var expected = accumulate ? Double(y0[c]) : 0
                    for (k, r) in rows.enumerated() { expected += Double(coefficients[k]) * Double(matrix[Int(r) * ld + c]) }
                    worst = max(worst, abs(Double(y[c]) - expected))
                }
                #expect(worst < 1e-4, "n \(n) rows \(rows.count) accumulate \(accumulate): off by \(worst)")
            }
        }
    }
}
