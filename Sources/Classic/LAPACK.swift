import COpenBLAS

/// The few LAPACK routines the classic models use (OpenBLAS's bundled LAPACK, in Double), behind
/// row-major Swift signatures. Matrices are row-major `UnsafeMutablePointer<Double>`; a symmetric
/// matrix is the same in either order, and a row-major m × n matrix is LAPACK's n × m transpose.
public enum LAPACK {
    /// Solves A·X = B in place for symmetric positive definite A (n × n, overwritten by its
    /// Cholesky factor) and B (n × nrhs row-major, overwritten by X). False when A is not
    /// numerically positive definite.
    public static func solvePositiveDefinite(_ a: UnsafeMutablePointer<Double>, n: Int,
                                             _ b: UnsafeMutablePointer<Double>, nrhs: Int) -> Bool {
        var uplo = CChar(UInt8(ascii: "L")), n32 = Int32(n), info: Int32 = 0
        dpotrf_(&uplo, &n32, a, &n32, &info)
        guard info == 0 else { return false }
        // B row-major n × nrhs is column-major nrhs × n; solve column by column via a transpose.
        var one: Int32 = 1
        withUnsafeTemporaryAllocation(of: Double.self, capacity: n) { column in
            for j in 0..<nrhs {
                for i in 0..<n { column[i] = b[i * nrhs + j] }
                dpotrs_(&uplo, &n32, &one, a, &n32, column.baseAddress!, &n32, &info)
                for i in 0..<n { b[i * nrhs + j] = column[i] }
            }
        }
        return info == 0
    }

    /// Cholesky factor of symmetric positive definite A (n × n, row-major): on success A holds the
    /// lower factor L with A = LLᵀ (row-major, upper triangle zeroed). False when A is not
    /// numerically positive definite.
    public static func cholesky(_ a: UnsafeMutablePointer<Double>, n: Int) -> Bool {
        // LAPACK's upper factor U (column-major, A = UᵀU) read row-major is Uᵀ = L.
        var uplo = CChar(UInt8(ascii: "U")), n32 = Int32(n), info: Int32 = 0
        dpotrf_(&uplo, &n32, a, &n32, &info)
        guard info == 0 else { return false }
        for i in 0..<n { for j in (i + 1)..<max(i + 1, n) { a[i * n + j] = 0 } }
        return true
    }

    /// Eigenvalues of symmetric A (n × n; either triangle suffices, A is destroyed), ascending,
    /// by divide and conquer (`dsyevd`). Nil if LAPACK does not converge.
    public static func symmetricEigenvalues(_ a: UnsafeMutablePointer<Double>, n: Int) -> [Double]? {
        symmetricEigen(a, n: n, vectors: false)
    }

    /// As `symmetricEigenvalues`; with `vectors`, A is overwritten with the eigenvectors, row i
    /// (row-major) the unit eigenvector of eigenvalue i.
    public static func symmetricEigen(_ a: UnsafeMutablePointer<Double>, n: Int, vectors: Bool) -> [Double]? {
        var jobz = CChar(UInt8(ascii: vectors ? "V" : "N")), uplo = CChar(UInt8(ascii: "L"))
        var n32 = Int32(n), info: Int32 = 0
        var values = [Double](repeating: 0, count: n)
        var query = 0.0, lwork: Int32 = -1, iquery: Int32 = 0, liwork: Int32 = -1
        dsyevd_(&jobz, &uplo, &n32, a, &n32, &values, &query, &lwork, &iquery, &liwork, &info)
        guard info == 0 else { return nil }
        lwork = Int32(query); liwork = max(1, iquery)
        var work = [Double](repeating: 0, count: Int(lwork)), iwork = [Int32](repeating: 0, count: Int(liwork))
        dsyevd_(&jobz, &uplo, &n32, a, &n32, &values, &work, &lwork, &iwork, &liwork, &info)
        return info == 0 ? values : nil
    }

    /// Singular value decomposition of row-major A (m × n): singular values (descending,
    /// min(m, n) of them) and Vᵀ's rows, the right singular vectors (n × n, row-major: row i is vᵢ),
    /// and U (m × m row-major). A is destroyed. Returns false if LAPACK does not converge.
    public static func svd(_ a: UnsafeMutablePointer<Double>, m: Int, n: Int) -> (values: [Double], u: [Double], vt: [Double])? {
        // Row-major A (m × n) is column-major Aᵀ (n × m) = V Σ Uᵀ. LAPACK's "U" of Aᵀ is our V and
        // its "Vᵀ" is our Uᵀ; with column-major storage read row-major, its U (n × n) gives Vᵀ's rows.
        var jobz = CChar(UInt8(ascii: "A"))
        var rows = Int32(n), cols = Int32(m), lda = Int32(n), info: Int32 = 0
        let k = min(m, n)
        var s = [Double](repeating: 0, count: k)
        var lu = [Double](repeating: 0, count: n * n)   // column-major n × n: columns are vᵢ
        var lvt = [Double](repeating: 0, count: m * m)  // column-major m × m: rows are uᵢᵀ
        var ldu = Int32(n), ldvt = Int32(m)
        var iwork = [Int32](repeating: 0, count: 8 * k)
        var query = 0.0, lwork: Int32 = -1
        dgesdd_(&jobz, &rows, &cols, a, &lda, &s, &lu, &ldu, &lvt, &ldvt, &query, &lwork, &iwork, &info)
        guard info == 0 else { return nil }
        lwork = Int32(query)
        var work = [Double](repeating: 0, count: Int(lwork))
        dgesdd_(&jobz, &rows, &cols, a, &lda, &s, &lu, &ldu, &lvt, &ldvt, &work, &lwork, &iwork, &info)
        guard info == 0 else { return nil }
        // lu column-major n × n: element (r, c) at c * n + r is component r of v_c. Read row-major,
        // lu[c * n + r] is row c, column r: row c is v_c. So lu is Vᵀ row-major as is.
        // lvt column-major m × m: element (r, c) at c * m + r is component c of u_r. Read row-major
        // that is row c, column r = U(c, r)... i.e. lvt row-major is U.
        return (s, lvt, lu)
    }
}
