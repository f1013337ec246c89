import LowLevel

/// One-vs-one voting (`PairwiseVote.apply`): the K(K − 1)/2 pair decisions of x [batch, K(K−1)/2]
/// → per-class scores [batch, K]. Argument `classes` = K. Votes are steps, so it has no gradient.
enum PairwiseVoting: Operator {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        let k = attributes.int("classes")
        guard inputs.count == 1 else { throw ShapeError("takes the pair decisions, got \(inputs.count) inputs") }
        guard (2...1024).contains(k) else { throw ShapeError("classes must be 2...1024, not \(k)") }
        let x = inputs[0]
        guard x.element == .float32, x.isBatched, x.shape == [k * (k - 1) / 2] else {
            throw ShapeError("x must be [batch, \(k * (k - 1) / 2)] for \(k) classes")
        }
        return [TensorType([k], batched: true)]
    }

    static var isDifferentiable: Bool { false }

    static func forward(_ node: NodeRun) {
        let k = node.attributes.int("classes"), pairs = k * (k - 1) / 2
        for r in 0..<node.rows { PairwiseVote.apply(node.input(0) + r * pairs, classes: k, into: node.output(0) + r * k) }
    }

    static func backward(_ node: NodeRun) {}
}

extension GraphBuilder {
    public func pairwiseVote(_ decisions: ValueID, classes: Int, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.pairwiseVote, [decisions], attributes: Attributes(["classes": .int(classes)]), name: name)
    }
}
