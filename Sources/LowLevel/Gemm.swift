import COpenBLAS

/// Whether a matrix operand is used as stored or transposed.
public enum Transpose: Sendable {
    case none
    case transposed

    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

/// Products up to this many multiply-adds skip OpenBLAS: its AVX-512 small-matrix kernels (used
/// below about 100³) allocate heap memory on every call.
let smallProductLimit = 1_000_000

extension Kernels {
    /// C = α·op(A)·op(B) + β·C for row-major matrices: OpenBLAS for large products, SIMD loops
    /// of this module for small ones (see `smallProductLimit`).
    ///
    /// op(A) is `m × k`, op(B) is `k × n`, C is `m × n`; `lda`, `ldb`, `ldc` are the row strides of
    /// A, B and C as stored. When `m` or `n` is 1 the product goes to `sgemv` instead: OpenBLAS's
    /// AVX-512 `sgemm` allocates heap memory for N = 1, `sgemv` does not.
    /// - Precondition: all dimensions fit in `Int32` and the strides are at least the stored row lengths.
    public static func gemm(_ transposeA: Transpose, _ transposeB: Transpose,
                            m: Int, n: Int, k: Int,
                            alpha: Float, a: UnsafePointer<Float>, lda: Int,
                            b: UnsafePointer<Float>, ldb: Int,
                            beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(m >= 0 && n >= 0 && k >= 0 && max(m, n, k, lda, ldb, ldc) <= Int(Int32.max))
        if m == 0 || n == 0 { return }
        // A · Bᵀ goes through dot products, which only pay for themselves on longer rows; the
        // OpenBLAS kernel for short ones has not been seen allocating (the zero-allocation tests
        // cover every product shape the networks use).
        let small = m * n * k <= smallProductLimit
        let supported = transposeB == .none || (transposeA == .none && k >= 32)
        if small && supported {
            smallGemm(transposeA, transposeB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda, b: b, ldb: ldb,
                      beta: beta, c: c, ldc: ldc)
            return
        }
        if m == 1 {
            // c (1×n) = α·a·op(B) + β·c, i.e. c = α·op(B)ᵀ·a + β·c.
            let incA = transposeA == .none ? 1 : lda
            if transposeB == .none { // B is k×n: c = Bᵀa
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(n), alpha, b, Int32(ldb),
                            a, Int32(incA), beta, c, 1)
            } else { // B is n×k: c = B·a
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(n), Int32(k), alpha, b, Int32(ldb),
                            a, Int32(incA), beta, c, 1)
            }
            return
        }
        if n == 1 {
            // c (m×1, stride ldc) = α·op(A)·b + β·c.
            let incB = transposeB == .none ? ldb : 1
            if transposeA == .none { // A is m×k
                cblas_sgemv(CblasRowMajor, CblasNoTrans, Int32(m), Int32(k), alpha, a, Int32(lda),
                            b, Int32(incB), beta, c, Int32(ldc))
            } else { // A is k×m
                cblas_sgemv(CblasRowMajor, CblasTrans, Int32(k), Int32(m), alpha, a, Int32(lda),
                            b, Int32(incB), beta, c, Int32(ldc))
            }
            return
        }
        cblas_sgemm(CblasRowMajor, transposeA.cblas, transposeB.cblas,
                    Int32(m), Int32(n), Int32(k), alpha, a, Int32(lda), b, Int32(ldb), beta, c, Int32(ldc))
    }
}

/// The small-product path of `Kernels.gemm`, one row of C at a time: a row combination of B's
/// rows when B is used as stored, dot products with B's rows when it is transposed.
private func smallGemm(_ transposeA: Transpose, _ transposeB: Transpose, m: Int, n: Int, k: Int,
                       alpha: Float, a: UnsafePointer<Float>, lda: Int, b: UnsafePointer<Float>, ldb: Int,
                       beta: Float, c: UnsafeMutablePointer<Float>, ldc: Int) {
    for i in 0..<m {
        let row = c + i * ldc
        // C_i = α(op(A)_i · op(B)) + βC_i, computed as α((β/α)C_i + op(A)_i · op(B)).
        let accumulate = beta != 0 && alpha != 0
        if accumulate && beta != alpha { Kernels.scale(row, by: beta / alpha, count: n) }
        if alpha == 0 {
            if beta == 0 { Kernels.fill(row, with: 0, count: n) } else { Kernels.scale(row, by: beta, count: n) }
            continue
        }
        if transposeB == .none {
            let stride = transposeA == .none ? 1 : lda
            let x = transposeA == .none ? a + i * lda : a + i
            Kernels.stridedVectorMatrix(x, stride: stride, rows: k, matrix: b, ld: ldb, columns: n, into: row, accumulate: accumulate)
        } else {
            let x = a + i * lda // transposeA == .none here
            var j = 0
            while j + 4 <= n {
                let d = Kernels.dot4(x, b + j * ldb, b + (j + 1) * ldb, b + (j + 2) * ldb, b + (j + 3) * ldb, count: k)
                for l in 0..<4 { row[j + l] = accumulate ? row[j + l] + d[l] : d[l] }
                j += 4
            }
            while j < n {
                let d = Kernels.dot(x, b + j * ldb, count: k)
                row[j] = accumulate ? row[j] + d : d
                j += 1
            }
        }
        if alpha != 1 { Kernels.scale(row, by: alpha, count: n) }
    }
}
