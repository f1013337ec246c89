import COpenBLAS

/// Whether a matrix operand is used as stored or transposed.
public enum Transpose: Sendable {
    case none
    case transposed

    var cblas: CBLAS_TRANSPOSE { self == .none ? CblasNoTrans : CblasTrans }
}

extension Kernels {
    /// C = α·op(A)·op(B) + β·C for row-major matrices, through OpenBLAS.
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
