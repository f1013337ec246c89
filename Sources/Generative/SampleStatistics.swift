import Glibc
import Classic

/// What judges a set of generated images through a classifier (the project's LeNet): running sums
/// of its penultimate features and of its class probabilities, from which come the classifier
/// "inception score" exp(E_x KL(p(y|x) ‖ p(y))) and the Gaussian fit (mean, covariance) that the
/// Fréchet distance compares. Sums are in Double.
public struct SampleStatistics {
    public let dimension: Int
    public let classes: Int
    public private(set) var count = 0
    private var sums: [Double]
    private var products: [Double]
    private var probabilitySums: [Double]
    /// Σ_x Σ_y p(y|x) log p(y|x).
    private var negativeEntropy = 0.0
    /// How many images the classifier gives each class as its most probable (the first on ties):
    /// a generator that lost modes leaves classes near 0.
    public private(set) var predictedCounts: [Int]

    public init(dimension: Int, classes: Int) {
        precondition(dimension >= 1 && classes >= 1)
        self.dimension = dimension
        self.classes = classes
        sums = Array(repeating: 0, count: dimension)
        products = Array(repeating: 0, count: dimension * dimension)
        probabilitySums = Array(repeating: 0, count: classes)
        predictedCounts = Array(repeating: 0, count: classes)
    }

    /// Adds one image's features (`dimension`) and class probabilities (`classes`, summing to 1).
    public mutating func add(features: UnsafePointer<Float>, probabilities: UnsafePointer<Float>) {
        count += 1
        let d = dimension
        sums.withUnsafeMutableBufferPointer { s in
            products.withUnsafeMutableBufferPointer { p in
                for i in 0..<d {
                    let fi = Double(features[i])
                    s[i] += fi
                    for j in i..<d { p[i * d + j] += fi * Double(features[j]) }
                }
            }
        }
        var best = 0
        for y in 0..<classes {
            if probabilities[y] > probabilities[best] { best = y }
            let p = Double(probabilities[y])
            probabilitySums[y] += p
            if p > 0 { negativeEntropy += p * log(p) }
        }
        predictedCounts[best] += 1
    }

    /// The features' mean.
    public var mean: [Double] { sums.map { $0 / Double(max(count, 1)) } }

    /// The features' covariance (d × d, row-major, divided by n − 1).
    public var covariance: [Double] {
        let d = dimension, n = Double(count), m = mean
        var c = [Double](repeating: 0, count: d * d)
        for i in 0..<d {
            for j in i..<d {
                let v = (products[i * d + j] - n * m[i] * m[j]) / max(n - 1, 1)
                c[i * d + j] = v
                c[j * d + i] = v
            }
        }
        return c
    }

    /// exp(E_x KL(p(y|x) ‖ p(y))) with p(y) the mean of the p(y|x): between 1 (every image the same
    /// class distribution) and `classes` (confident and evenly spread over the classes).
    public var inceptionScore: Double {
        let n = Double(max(count, 1))
        var marginal = 0.0
        for y in 0..<classes {
            let p = probabilitySums[y] / n
            if p > 0 { marginal += p * log(p) }
        }
        return exp(negativeEntropy / n - marginal)
    }

    /// The Fréchet distance between Gaussian fits of two feature sets:
    /// ‖μ₁ − μ₂‖² + Tr(Σ₁) + Tr(Σ₂) − 2 Tr((Σ₁^½ Σ₂ Σ₁^½)^½). Nil if an eigensolve fails.
    public static func frechetDistance(_ a: SampleStatistics, _ b: SampleStatistics) -> Double? {
        precondition(a.dimension == b.dimension)
        let d = a.dimension, ma = a.mean, mb = b.mean, ca = a.covariance, cb = b.covariance
        var distance = 0.0
        for i in 0..<d { distance += (ma[i] - mb[i]) * (ma[i] - mb[i]) + ca[i * d + i] + cb[i * d + i] }
        // Σ₁^½ = Σ_k √λ_k v_k v_kᵀ
        var vectors = ca
        guard let values = LAPACK.symmetricEigen(&vectors, n: d, vectors: true) else { return nil }
        var root = [Double](repeating: 0, count: d * d)
        for k in 0..<d {
            let s = max(values[k], 0).squareRoot()
            guard s > 0 else { continue }
            for i in 0..<d { for j in 0..<d { root[i * d + j] += s * vectors[k * d + i] * vectors[k * d + j] } }
        }
        // M = Σ₁^½ Σ₂ Σ₁^½ is symmetric positive semidefinite; Tr M^½ = Σ √λ(M).
        var product = [Double](repeating: 0, count: d * d), middle = [Double](repeating: 0, count: d * d)
        for i in 0..<d { for k in 0..<d { let r = root[i * d + k]; for j in 0..<d { product[i * d + j] += r * cb[k * d + j] } } }
        for i in 0..<d { for k in 0..<d { let p = product[i * d + k]; for j in 0..<d { middle[i * d + j] += p * root[k * d + j] } } }
        guard let eigen = LAPACK.symmetricEigenvalues(&middle, n: d) else { return nil }
        return distance - 2 * eigen.reduce(0) { $0 + max($1, 0).squareRoot() }
    }
}
