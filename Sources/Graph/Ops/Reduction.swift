/// What a sum or mean reduces over.
public enum ReductionAxes: Int, Sendable {
    /// Every element of a sample: [batch, ...] → [batch] (a per-sample scalar).
    case sample = 0
    /// The last dimension: [batch, ..., n] → [batch, ...].
    case lastAxis = 1
    /// Everything, the batch included: one unbatched scalar (a batch's loss).
    case all = 2
}

/// The shared machinery of sum and mean: output shape, and the groups of `groupSize` consecutive
/// input elements that each output element gathers (every reduction here is over a contiguous run).
protocol Reduction: Operator {
    /// Whether the result is divided by the number of elements reduced.
    static var averages: Bool { get }
}

extension Reduction {
    static func axes(_ attributes: Attributes) -> ReductionAxes? { ReductionAxes(rawValue: attributes.int("axes")) }

    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 1 else { throw ShapeError("takes 1 input, got \(inputs.count)") }
        guard inputs[0].element == .float32 else { throw ShapeError("input must be float32") }
        let x = inputs[0]
        switch axes(attributes) {
        case .sample?: return [TensorType([], batched: x.isBatched)]
        case .lastAxis?:
            guard !x.shape.isEmpty else { throw ShapeError("a scalar has no last axis") }
            return [TensorType(Array(x.shape.dropLast()), batched: x.isBatched)]
        case .all?: return [TensorType([], batched: false)]
        case nil: throw ShapeError("axes \(attributes.int("axes")) is not 0 (sample), 1 (last axis) or 2 (all)")
        }
    }

    /// Elements per output element in this pass.
    static func groupSize(_ node: NodeRun) -> Int { node.inputCount(0) / node.outputCount(0) }

    static func forward(_ node: NodeRun) {
        let x = node.input(0), y = node.output(0), n = groupSize(node)
        let scale: Float = averages ? 1 / Float(n) : 1
        for g in 0..<node.outputCount(0) {
            var s: Float = 0
            for i in 0..<n { s += x[g * n + i] }
            y[g] = s * scale
        }
    }

    static var overwritesGradients: Bool { true }

    static func backward(_ node: NodeRun) {
        guard let dy = node.outputGradient(0), let dx = node.inputGradient(0) else { return }
        let n = groupSize(node), overwrite = node.overwrites(0)
        let scale: Float = averages ? 1 / Float(n) : 1
        for g in 0..<node.outputCount(0) {
            let d = dy[g] * scale
            if overwrite {
                for i in 0..<n { dx[g * n + i] = d }
            } else {
                for i in 0..<n { dx[g * n + i] += d }
            }
        }
    }
}
