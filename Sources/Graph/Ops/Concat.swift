/// y = [a; b] along the first dimension of each sample: a [C1, ...] and b [C2, ...] with the same
/// trailing shape give [C1 + C2, ...] (a U-Net's skip connection joined to the upsampled path).
/// Backward hands each part of dy back to its input.
enum Concat: Operator {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 2 else { throw ShapeError("takes 2 inputs, got \(inputs.count)") }
        let a = inputs[0], b = inputs[1]
        guard a.element == .float32, b.element == .float32, a.isBatched, b.isBatched else { throw ShapeError("inputs must be batched float32") }
        guard let c1 = a.shape.first, let c2 = b.shape.first, a.shape.dropFirst() == b.shape.dropFirst() else {
            throw ShapeError("inputs must share every dimension but the first")
        }
        return [TensorType([c1 + c2] + Array(a.shape.dropFirst()), batched: true)]
    }

    static func forward(_ node: NodeRun) {
        let m = node.inputTypes[0].elementsPerSample, n = node.inputTypes[1].elementsPerSample
        let a = node.input(0), b = node.input(1), y = node.output(0)
        for r in 0..<node.rows {
            (y + r * (m + n)).update(from: a + r * m, count: m)
            (y + r * (m + n) + m).update(from: b + r * n, count: n)
        }
    }

    static func backward(_ node: NodeRun) {
        guard let dy = node.outputGradient(0) else { return }
        let m = node.inputTypes[0].elementsPerSample, n = node.inputTypes[1].elementsPerSample
        for r in 0..<node.rows {
            if let da = node.inputGradient(0) { for j in 0..<m { da[r * m + j] += dy[r * (m + n) + j] } }
            if let db = node.inputGradient(1) { for j in 0..<n { db[r * n + j] += dy[r * (m + n) + m + j] } }
        }
    }
}

extension GraphBuilder {
    /// a and b joined along their first dimension (channels).
    public func concat(_ a: ValueID, _ b: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.concat, [a, b], name: name)
    }
}
