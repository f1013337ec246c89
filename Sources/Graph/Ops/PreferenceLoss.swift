#if canImport(Glibc)
import Glibc
#endif

/// The reward model's pairwise loss, −log σ(r_w − r_l) element by element, from the rewards of
/// the preferred (r_w) and the rejected (r_l) answers, of one shape. Written stably as
/// softplus(−d) = max(−d, 0) + log(1 + e^−|d|) with d = r_w − r_l; dr_w += −σ(−d)·dy and
/// dr_l += σ(−d)·dy. A `mean` over the batch makes it the objective of a preference data set.
enum PreferenceLoss: Operator {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 2 else { throw ShapeError("takes the preferred and the rejected rewards, got \(inputs.count) inputs") }
        guard inputs[0].element == .float32, inputs[0] == inputs[1] else {
            throw ShapeError("the two rewards must be float32 values of one shape, not \(inputs[0]) and \(inputs[1])")
        }
        return [inputs[0]]
    }

    static func forward(_ node: NodeRun) {
        let preferred = node.input(0), rejected = node.input(1), y = node.output(0)
        for i in 0..<node.outputCount(0) {
            let d = preferred[i] - rejected[i]
            y[i] = max(-d, 0) + log1pf(expf(-abs(d)))
        }
    }

    static func backward(_ node: NodeRun) {
        guard let dy = node.outputGradient(0) else { return }
        let preferred = node.input(0), rejected = node.input(1)
        let dw = node.inputGradient(0), dl = node.inputGradient(1)
        for i in 0..<node.outputCount(0) {
            let d = preferred[i] - rejected[i]
            // σ(−d), from whichever side keeps the exponential below 1.
            let e = expf(-abs(d)), s = d >= 0 ? e / (1 + e) : 1 / (1 + e)
            dw?[i] -= s * dy[i]
            dl?[i] += s * dy[i]
        }
    }
}

extension GraphBuilder {
    /// −log σ(preferred − rejected), element by element (Bradley–Terry).
    public func preferenceLoss(preferred: ValueID, rejected: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.preferenceLoss, [preferred, rejected], name: name)
    }
}
