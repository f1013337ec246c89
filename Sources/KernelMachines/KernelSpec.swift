import LowLevel
import Infer
import Training
import ModelFile

/// A kernel as the caller asks for it: like `KernelFunction`, but the width σ of the Gaussian and
/// Laplace kernels may be left nil and is then chosen from the training data (`resolved(for:)`).
public enum KernelSpec: Equatable, Sendable, CustomStringConvertible {
    case linear
    case polynomial(degree: Int)
    /// exp(−‖x − z‖²/σ); σ = nil picks σ = d·Var(X) (scikit-learn's gamma = "scale").
    case gaussian(sigma: Float? = nil)
    /// exp(−‖x − z‖/σ); σ = nil picks σ = √(d·Var(X)), the same scale for unsquared distances.
    case laplace(sigma: Float? = nil)

    /// The same kernel with a fixed width.
    public init(_ kernel: KernelFunction) {
        switch kernel {
        case .linear: self = .linear
        case .polynomial(let p): self = .polynomial(degree: p)
        case .gaussian(let s): self = .gaussian(sigma: s)
        case .laplace(let s): self = .laplace(sigma: s)
        }
    }

    public var description: String {
        switch self {
        case .linear: "linear"
        case .polynomial(let p): "poly(degree \(p))"
        case .gaussian(let s): s.map { "rbf(sigma \($0))" } ?? "rbf(sigma scale)"
        case .laplace(let s): s.map { "laplace(sigma \($0))" } ?? "laplace(sigma scale)"
        }
    }

    /// The kernel function for training on `features`: a nil σ becomes the scale heuristic.
    /// - Throws: `KernelMachineError.invalidKernel` when the parameters are unusable, including a
    ///   heuristic σ of 0 (all feature values equal).
    public func resolved(for features: Matrix) throws(KernelMachineError) -> KernelFunction {
        let kernel: KernelFunction
        switch self {
        case .linear: kernel = .linear
        case .polynomial(let p): kernel = .polynomial(degree: p)
        case .gaussian(let s): kernel = .gaussian(sigma: s ?? Self.scaleSigma(features))
        case .laplace(let s): kernel = .laplace(sigma: s ?? Self.scaleSigma(features).squareRoot())
        }
        if let problem = kernel.problem { throw .invalidKernel(problem) }
        return kernel
    }

    /// d·Var(X) over all n·d feature values: half the expected squared distance between two
    /// samples with independent features, so exp(−‖x − z‖²/σ) stays in a useful range.
    public static func scaleSigma(_ x: Matrix) -> Float {
        let n = x.rows, d = x.columns
        guard n > 0, d > 0 else { return 0 }
        // Double sums: n·d is 8 million for 10k MNIST digits, beyond Float's exact range.
        var sum = 0.0, squares = 0.0
        for r in 0..<n {
            let row = x.row(r)
            var s: Float = 0, q: Float = 0
            for c in 0..<d { let v = row[c]; s += v; q += v * v }
            sum += Double(s); squares += Double(q)
        }
        let count = Double(n * d)
        let mean = sum / count
        let variance = max(squares / count - mean * mean, 0)
        return Float(Double(d) * variance)
    }
}
