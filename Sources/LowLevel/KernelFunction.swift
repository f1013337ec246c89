#if canImport(Glibc)
import Glibc
#endif

/// A positive-definite kernel k(x, z) for kernel machines and kernel smoothing.
///
/// The course's definitions: polynomial (⟨x, z⟩ + 1)^p, Gaussian exp(−‖x − z‖²/σ) (note: σ, not
/// 2σ², divides the squared distance), Laplace exp(−‖x − z‖/σ).
public enum KernelFunction: Equatable, Sendable, CustomStringConvertible {
    case linear
    case polynomial(degree: Int)
    case gaussian(sigma: Float)
    case laplace(sigma: Float)

    /// Why the parameters are unusable, or nil.
    public var problem: String? {
        switch self {
        case .linear: nil
        case .polynomial(let p): p >= 1 && p <= 16 ? nil : "polynomial degree must be 1...16, not \(p)"
        case .gaussian(let s), .laplace(let s): s > 0 && s.isFinite ? nil : "kernel width sigma must be positive, not \(s)"
        }
    }

    /// Whether the kernel needs distances (rather than dot products) between points.
    public var usesDistance: Bool {
        switch self { case .gaussian, .laplace: true; case .linear, .polynomial: false }
    }

    public var description: String {
        switch self {
        case .linear: "linear"
        case .polynomial(let p): "poly(degree \(p))"
        case .gaussian(let s): "rbf(sigma \(s))"
        case .laplace(let s): "laplace(sigma \(s))"
        }
    }

    /// k(x, z) for two vectors of `count` floats.
    public func callAsFunction(_ x: UnsafePointer<Float>, _ z: UnsafePointer<Float>, count: Int) -> Float {
        switch self {
        case .linear, .polynomial: value(dot: Kernels.dot(x, z, count: count), squaredDistance: 0)
        case .gaussian, .laplace: value(dot: 0, squaredDistance: Kernels.squaredDistance(x, z, count: count))
        }
    }

    /// k from ⟨x, z⟩ (linear, polynomial) or ‖x − z‖² (Gaussian, Laplace); the other argument is
    /// ignored. Lets callers compute whole kernel rows with one matrix product.
    @inline(__always)
    public func value(dot: Float, squaredDistance: Float) -> Float {
        switch self {
        case .linear: return dot
        case .polynomial(let p):
            let base = dot + 1
            var r: Float = 1
            for _ in 0..<p { r *= base }
            return r
        case .gaussian(let s): return expf(-Swift.max(squaredDistance, 0) / s)
        case .laplace(let s): return expf(-Swift.max(squaredDistance, 0).squareRoot() / s)
        }
    }

    /// The scalar s in k's gradient with respect to x, given ⟨x, z⟩ or ‖x − z‖² and k itself:
    /// ∂k/∂x = s·z for the linear and polynomial kernels, s·(x − z) for the Gaussian and Laplace
    /// ones (whose ∂k/∂z is the negation). The Laplace kernel's kink at x = z gets s = 0.
    @inline(__always)
    public func gradientScale(dot: Float, squaredDistance: Float, value k: Float) -> Float {
        switch self {
        case .linear: return 1
        case .polynomial(let p):
            let base = dot + 1
            var r = Float(p)
            for _ in 1..<p { r *= base }
            return r
        case .gaussian(let s): return -2 * k / s
        case .laplace(let s):
            let distance = Swift.max(squaredDistance, 0).squareRoot()
            return distance > 0 ? -k / (s * distance) : 0
        }
    }

    /// The format's code and parameter (docs/FORMAT.md, kernel layer).
    public var code: (kind: UInt32, degree: UInt32, sigma: Float) {
        switch self {
        case .linear: (1, 0, 0)
        case .polynomial(let p): (2, UInt32(p), 0)
        case .gaussian(let s): (3, 0, s)
        case .laplace(let s): (4, 0, s)
        }
    }

    public init?(code: UInt32, degree: UInt32, sigma: Float) {
        switch code {
        case 1: self = .linear
        case 2: self = .polynomial(degree: Int(degree))
        case 3: self = .gaussian(sigma: sigma)
        case 4: self = .laplace(sigma: sigma)
        default: return nil
        }
        if problem != nil { return nil }
    }
}
