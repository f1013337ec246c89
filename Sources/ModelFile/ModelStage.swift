import LowLevel
/// One step of a model as the runtime computes it, in order from input to output. Classic models
/// (linear models, kernel machines, nearest neighbours) are written as a list of these;
/// `ModelWriter.encode(stages:description:)` turns them into a model file.
public enum ModelStage {
    /// y = x·W + b with W stored [inputs, outputs] row-major.
    case dense(weight: [Float], bias: [Float], inputs: Int, outputs: Int)
    /// yᵢ = xᵢ·scaleᵢ + shiftᵢ per feature (standardisation).
    case affine(scale: [Float], shift: [Float])
    case activation(ActivationKind)
    /// yᵢ = k(x, pᵢ) for `count` stored points of `dimension` floats (support vectors).
    case kernel(KernelFunction, points: [Float], count: Int, dimension: Int)
    /// One-vs-one voting: input holds the K(K−1)/2 decision values of the class pairs (0,1), (0,2),
    /// …, (0,K−1), (1,2), …, (K−2,K−1); a positive value is a vote for the first class of its pair.
    /// Output: per class, its votes plus a confidence term in (−1/3, 1/3) that only breaks ties.
    case pairwiseVote(classes: Int)
    /// A nearest-neighbour model over stored points and their targets (class index or value).
    case nearestNeighbours(points: [Float], targets: [Float], count: Int, dimension: Int, k: Int,
                           metric: DistanceMetric, mode: NeighbourMode)

    /// Input and output lengths, or nil when the stage is malformed.
    public var lengths: (inputs: Int, outputs: Int)? {
        switch self {
        case .dense(let w, let b, let i, let o):
            return w.count == i * o && b.count == o && i > 0 && o > 0 ? (i, o) : nil
        case .affine(let s, let h):
            return s.count == h.count && !s.isEmpty ? (s.count, s.count) : nil
        case .activation:
            return nil // takes its length from the stage before
        case .kernel(let kernel, let p, let n, let d):
            return kernel.problem == nil && p.count == n * d && n > 0 && d > 0 ? (d, n) : nil
        case .pairwiseVote(let k):
            return k >= 2 ? (k * (k - 1) / 2, k) : nil
        case .nearestNeighbours(let p, let t, let n, let d, let k, _, let mode):
            guard p.count == n * d, t.count == n, n > 0, d > 0 else { return nil }
            switch mode {
            case .classify(let classes):
                guard classes >= 2, k >= 1, k <= min(n, 1024), t.allSatisfy({ $0 >= 0 && $0 < Float(classes) && $0 == $0.rounded() }) else { return nil }
                return (d, classes)
            case .regress:
                return k >= 1 && k <= min(n, 1024) ? (d, 1) : nil
            case .kernelSmoothing(let kernel):
                return kernel.problem == nil ? (d, 1) : nil
            case .localLinear(let sigma):
                return sigma > 0 && sigma.isFinite && d <= 64 ? (d, 1) : nil
            }
        }
    }
}
