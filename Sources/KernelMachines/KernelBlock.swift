import Infer
import Training
import ModelFile
import LowLevel

/// Kernel values for many pairs of points at once, from one matrix product of dot products and the
/// points' squared norms: ‖x − z‖² = ‖x‖² + ‖z‖² − 2⟨x, z⟩. This is how the kernel-row cache, the
/// fitters and batch prediction get their kernel values at BLAS speed.
public enum KernelBlock {
    /// norms[r] = ‖xᵣ‖² for every row of `x`.
    /// - Precondition: `norms` holds `x.rows` floats.
    public static func squaredNorms(_ x: Matrix, into norms: UnsafeMutablePointer<Float>) {
        for r in 0..<x.rows { norms[r] = Kernels.sumOfSquares(x.row(r), count: x.columns) }
    }

    /// c[r·ldc + s] = k(aᵣ, b_s) for the m rows of `a` and the n rows of `b`.
    /// - Precondition: `a.columns == b.columns`; the norms are `squaredNorms` of `a` and `b`
    ///   (only read by the distance kernels); `c` holds m rows of stride `ldc ≥ b.rows`.
    public static func compute(_ kernel: KernelFunction, a: Matrix, aNorms: UnsafePointer<Float>,
                               b: Matrix, bNorms: UnsafePointer<Float>,
                               into c: UnsafeMutablePointer<Float>, ldc: Int) {
        precondition(a.columns == b.columns && ldc >= b.rows)
        Kernels.gemm(.none, .transposed, m: a.rows, n: b.rows, k: a.columns, alpha: 1,
                     a: a.base, lda: a.columns, b: b.base, ldb: b.columns, beta: 0, c: c, ldc: ldc)
        for r in 0..<a.rows {
            transform(kernel, row: c + r * ldc, count: b.rows, rowNorm: aNorms[r], columnNorms: bNorms)
        }
    }

    /// Turns a row of dot products ⟨x, zₛ⟩ into kernel values k(x, zₛ) in place, given ‖x‖² and ‖zₛ‖².
    /// Same formulas as `KernelFunction.value`, 16 lanes at a time (the exponential of the Gaussian
    /// and Laplace kernels is `Kernels.exp`, relative error below 1e-6).
    public static func transform(_ kernel: KernelFunction, row: UnsafeMutablePointer<Float>, count n: Int,
                                 rowNorm: Float, columnNorms: UnsafePointer<Float>) {
        switch kernel {
        case .linear:
            return
        case .polynomial(let p):
            var i = 0
            while i + 16 <= n {
                let base = load16(row + i) + 1
                var r = SIMD16<Float>(repeating: 1)
                for _ in 0..<p { r *= base }
                store16(r, row + i)
                i += 16
            }
            while i < n { row[i] = kernel.value(dot: row[i], squaredDistance: 0); i += 1 }
        case .gaussian(let sigma), .laplace(let sigma):
            // First the exponent −‖x − z‖²/σ (or −‖x − z‖/σ), then one vectorised exponential.
            let squareRoot = kernel.usesDistance && { if case .laplace = kernel { true } else { false } }()
            let norm = SIMD16<Float>(repeating: rowNorm), s = SIMD16<Float>(repeating: sigma)
            var i = 0
            while i + 16 <= n {
                var d = norm + load16(columnNorms + i) - 2 * load16(row + i)
                d = d.replacing(with: 0, where: d .< 0)
                if squareRoot { d = d.squareRoot() }
                store16(-d / s, row + i)
                i += 16
            }
            while i < n {
                var d = Swift.max(rowNorm + columnNorms[i] - 2 * row[i], 0)
                if squareRoot { d = d.squareRoot() }
                row[i] = -d / sigma
                i += 1
            }
            Kernels.exp(row, into: row, count: n)
        }
    }

    /// k(x, x) for every row of `x`, exactly (no cancellation): the kernel-matrix diagonal.
    /// - Precondition: `norms` are the rows' squared norms; `diagonal` holds `x.rows` floats.
    public static func diagonal(_ kernel: KernelFunction, norms: UnsafePointer<Float>, count n: Int,
                                into diagonal: UnsafeMutablePointer<Float>) {
        for r in 0..<n { diagonal[r] = kernel.value(dot: norms[r], squaredDistance: 0) }
    }
}
