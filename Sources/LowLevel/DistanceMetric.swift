/// Distances for nearest-neighbour models. Mahalanobis distance is L2 after a linear map L with
/// LᵀL = M, so it is written as a dense stage followed by an L2 neighbour stage.
public enum DistanceMetric: String, Sendable, CaseIterable {
    case l1, l2, linf, cosine

    public var code: UInt32 {
        switch self { case .l1: 1; case .l2: 2; case .linf: 3; case .cosine: 4 }
    }

    public init?(code: UInt32) {
        switch code { case 1: self = .l1; case 2: self = .l2; case 3: self = .linf; case 4: self = .cosine; default: return nil }
    }
}

/// What a nearest-neighbour stage outputs.
public enum NeighbourMode: Equatable, Sendable {
    /// Vote fractions of the k nearest, one per class (ties: see `NearestNeighbourSearch`).
    case classify(classes: Int)
    /// Mean target of the k nearest.
    case regress
    /// Nadaraya–Watson: Σ k(x, xᵢ)yᵢ / Σ k(x, xᵢ) over all stored points (k unused).
    case kernelSmoothing(KernelFunction)
    /// Local linear regression: a weighted least-squares line fitted around x with Gaussian
    /// weights exp(−‖x − xᵢ‖²/σ) over all stored points, evaluated at x.
    case localLinear(sigma: Float)
}
