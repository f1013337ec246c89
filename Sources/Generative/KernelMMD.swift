import Glibc
import Arena
import LowLevel

/// The unbiased estimate of the squared maximum mean discrepancy between a batch X of generated
/// samples and a batch Y of real ones, with k(a, b) = Σ_σ exp(−‖a − b‖² / (2σ²)):
///
///   MMD² = Σ_{i≠j} k(xᵢ, xⱼ) / (n(n−1)) + Σ_{i≠j} k(yᵢ, yⱼ) / (n(n−1)) − 2 Σ_{i,j} k(xᵢ, yⱼ) / n²
///
/// and its gradient with respect to X: ∂/∂xᵢ = Σⱼ cᵢⱼ (xᵢ − zⱼ) over Z = [X; Y], where
/// cᵢⱼ = −2/(n(n−1)) Σ_σ k_σ/σ² for the generated zⱼ and +2/n² Σ_σ k_σ/σ² for the real ones.
/// Its buffers come from an arena; `evaluate` allocates nothing.
public struct KernelMMD {
    public let count: Int
    public let dimension: Int
    public let widths: [Float]
    /// [X; Y], 2n rows of `dimension`: write the batches here (`generated`, `real`).
    public let samples: UnsafeMutablePointer<Float>
    private let gram: UnsafeMutablePointer<Float>
    private let coefficients: UnsafeMutablePointer<Float>
    /// ∂MMD²/∂X after `evaluate`, n rows of `dimension`.
    public let gradient: UnsafeMutablePointer<Float>

    public var generated: UnsafeMutablePointer<Float> { samples }
    public var real: UnsafeMutablePointer<Float> { samples + count * dimension }

    public static func arenaBytes(count n: Int, dimension d: Int) -> Int {
        ArenaAllocator.footprint(of: Float.self, count: 2 * n * d) + ArenaAllocator.footprint(of: Float.self, count: 4 * n * n)
            + ArenaAllocator.footprint(of: Float.self, count: 2 * n * n) + ArenaAllocator.footprint(of: Float.self, count: n * d)
    }

    public init(count n: Int, dimension d: Int, widths: [Float], arena: ArenaAllocator) throws(ArenaError) {
        precondition(n >= 2 && d >= 1 && !widths.isEmpty)
        count = n
        dimension = d
        self.widths = widths
        samples = try arena.allocateFloats(2 * n * d).baseAddress!
        gram = try arena.allocateFloats(4 * n * n).baseAddress!
        coefficients = try arena.allocateFloats(2 * n * n).baseAddress!
        gradient = try arena.allocateFloats(n * d).baseAddress!
    }

    /// MMD² of the batches in `samples`, and its gradient into `gradient`.
    public func evaluate() -> Float {
        let n = count, d = dimension, m = 2 * n
        Kernels.gemm(.none, .transposed, m: m, n: m, k: d, alpha: 1, a: samples, lda: d, b: samples, ldb: d,
                     beta: 0, c: gram, ldc: m)
        let pairs = 1 / Float(n * (n - 1)), cross = 1 / Float(n * n)
        var xx: Float = 0, yy: Float = 0, xy: Float = 0
        for i in 0..<m {
            for j in 0..<m {
                let squared = max(gram[i * m + i] + gram[j * m + j] - 2 * gram[i * m + j], 0)
                var k: Float = 0, slope: Float = 0
                for sigma in widths {
                    let v = expf(-squared / (2 * sigma * sigma))
                    k += v
                    slope += v / (sigma * sigma)
                }
                if i < n {
                    coefficients[i * m + j] = j < n ? (j == i ? 0 : -2 * pairs * slope) : 2 * cross * slope
                    if j >= n { xy += k } else if j != i { xx += k }
                } else if j >= n && j != i {
                    yy += k
                }
            }
        }
        // ∂/∂xᵢ = (Σⱼ cᵢⱼ)·xᵢ − Σⱼ cᵢⱼ·zⱼ
        Kernels.gemm(.none, .none, m: n, n: d, k: m, alpha: -1, a: coefficients, lda: m, b: samples, ldb: d,
                     beta: 0, c: gradient, ldc: d)
        for i in 0..<n {
            var total: Float = 0
            for j in 0..<m { total += coefficients[i * m + j] }
            Kernels.axpy(total, samples + i * d, gradient + i * d, count: d)
        }
        return xx * pairs + yy * pairs - 2 * xy * cross
    }
}
