import Arena

/// Why a kernel machine could not be fitted.
public enum KernelMachineError: Error, Equatable, CustomStringConvertible {
    /// The arena ran out of room (or a size was invalid).
    case arena(ArenaError)
    /// Kernel parameters are unusable (σ ≤ 0, degree out of range).
    case invalidKernel(String)
    /// Another parameter (C, λ, cache budget, data shape) is unusable.
    case invalidParameter(String)
    /// The (regularised) kernel matrix of order `order` is not positive definite: Cholesky failed
    /// at leading minor `minor`. Raise λ, or remove duplicate samples.
    case notPositiveDefinite(order: Int, minor: Int)

    public var description: String {
        switch self {
        case .arena(let e): "arena: \(e)"
        case .invalidKernel(let s): "invalid kernel: \(s)"
        case .invalidParameter(let s): "invalid parameter: \(s)"
        case .notPositiveDefinite(let n, let m):
            "kernel matrix (\(n)×\(n)) is not positive definite (leading minor \(m)); use a larger lambda"
        }
    }
}
