import Arena
import Infer
import Training
import ModelFile
import LowLevel

/// Principal component analysis: the K directions of largest variance of the training features,
/// the top eigenvectors of their covariance C = (XᵀX − nμμᵀ)/(n − 1) (by LAPACK's dsyevd), which
/// are the right singular vectors of the centred data, the truncated SVD. The model's output is the
/// projection z = (x − μ)W (K values); `reconstruct` maps it back, x̂ = μ + zWᵀ. By Eckart–Young,
/// the rank-K reconstruction's mean squared error on the training rows is the sum of the dropped
/// eigenvalues times (n − 1)/n, the least any rank-K projection can reach.
public struct PrincipalComponents: TrainedModel {
    /// μ, d values.
    public let mean: [Float]
    /// W, [d, K] row-major: column k is the k-th component (unit length, decreasing variance).
    public let components: [Float]
    /// Every eigenvalue of the covariance, decreasing (variance along each principal direction).
    public let variances: [Double]
    public let inputCount: Int
    public let componentCount: Int
    public var outputCount: Int { componentCount }
    public var outputKind: ModelFormat.OutputKind { .values }

    public struct FitError: Error, CustomStringConvertible { public let description: String }

    /// The arena bytes `fit` takes: XᵀX (d × d floats), released on return.
    public static func arenaBytes(for set: SampleSet) -> FitArenaBytes {
        FitArenaBytes(peak: ArenaAllocator.footprint(of: Float.self, count: set.featureCount * set.featureCount))
    }

    public static func fit(_ set: SampleSet, components k: Int, arena: ArenaAllocator) throws -> PrincipalComponents {
        let (n, d) = (set.count, set.featureCount)
        guard n >= 2 else { throw FitError(description: "PCA needs at least 2 training rows") }
        guard k >= 1 && k <= d else { throw FitError(description: "--components must be between 1 and the \(d) features, not \(k)") }
        let mark = arena.mark()
        defer { arena.reset(to: mark) }
        let gram = try arena.allocateFloats(d * d)
        Kernels.gemm(.transposed, .none, m: d, n: d, k: n, alpha: 1, a: set.features.base, lda: d, b: set.features.base, ldb: d,
                     beta: 0, c: gram.baseAddress!, ldc: d)
        var mean = [Double](repeating: 0, count: d)
        for i in 0..<n { for j in 0..<d { mean[j] += Double(set.features[i, j]) } }
        for j in 0..<d { mean[j] /= Double(n) }
        var covariance = [Double](repeating: 0, count: d * d)
        for r in 0..<d { for c in 0..<d { covariance[r * d + c] = (Double(gram[r * d + c]) - Double(n) * mean[r] * mean[c]) / Double(n - 1) } }
        guard let ascending = covariance.withUnsafeMutableBufferPointer({ LAPACK.symmetricEigen($0.baseAddress!, n: d, vectors: true) }) else {
            throw FitError(description: "the eigendecomposition did not converge")
        }
        var w = [Float](repeating: 0, count: d * k)
        for c in 0..<k {
            let row = d - 1 - c // eigenvectors come in ascending order of eigenvalue
            for j in 0..<d { w[j * k + c] = Float(covariance[row * d + j]) }
        }
        return PrincipalComponents(mean: mean.map(Float.init), components: w, variances: ascending.reversed().map { max(0, $0) },
                                   inputCount: d, componentCount: k)
    }

    /// The fraction of the total variance the kept components carry.
    public var explainedVarianceRatio: Double {
        let total = variances.reduce(0, +)
        return total > 0 ? variances.prefix(componentCount).reduce(0, +) / total : 1
    }

    public func predict(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        let d = inputCount, k = componentCount
        for c in 0..<k { output[c] = 0 }
        for j in 0..<d {
            let centred = input[j] - mean[j]
            for c in 0..<k { output[c] += centred * components[j * k + c] }
        }
    }

    /// x̂ = μ + zWᵀ for a projection z (K values) into `output` (d values).
    public func reconstruct(_ z: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        let d = inputCount, k = componentCount
        for j in 0..<d {
            var v = mean[j]
            for c in 0..<k { v += z[c] * components[j * k + c] }
            output[j] = v
        }
    }

    /// Mean over the rows of ‖x − x̂‖², the rank-K reconstruction error.
    public func reconstructionError(on set: SampleSet) -> Double {
        var z = [Float](repeating: 0, count: componentCount), back = [Float](repeating: 0, count: inputCount)
        var total = 0.0
        for i in 0..<set.count {
            predict(set.features.row(i), into: &z)
            reconstruct(z, into: &back)
            for j in 0..<inputCount { let e = Double(set.features[i, j] - back[j]); total += e * e }
        }
        return total / Double(max(set.count, 1))
    }

    /// One dense stage: z = xW + b with b = −μW.
    public var stages: [ModelStage] {
        let k = componentCount
        var bias = [Float](repeating: 0, count: k)
        for j in 0..<inputCount { for c in 0..<k { bias[c] -= mean[j] * components[j * k + c] } }
        return [.dense(weight: components, bias: bias, inputs: inputCount, outputs: k)]
    }
}
