/// y[c, ...] = x[c, ...] + b[c]: one value per channel added over a feature map x [C, ...], with b
/// [C] per sample (a diffusion network's timestep embedding) or a parameter. Backward: dx = dy,
/// db[c] = Σ dy[c, ...] (over the batch too, for a parameter).
enum AddPerChannel: Operator {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 2 else { throw ShapeError("takes 2 inputs, got \(inputs.count)") }
        let x = inputs[0], b = inputs[1]
        guard x.element == .float32, b.element == .float32, x.isBatched, let c = x.shape.first, x.shape.count >= 2 else {
            throw ShapeError("x must be batched float32 [C, ...] of rank 2 or more")
        }
        guard b.shape == [c] else { throw ShapeError("b must be [\(c)], one value per channel") }
        return [x]
    }

    static func forward(_ node: NodeRun) {
        let c = node.inputTypes[0].shape[0], spatial = node.inputTypes[0].elementsPerSample / c
        let perSample = node.inputTypes[1].isBatched, x = node.input(0), b = node.input(1), y = node.output(0)
        for r in 0..<node.rows {
            for k in 0..<c {
                let v = b[(perSample ? r * c : 0) + k], offset = (r * c + k) * spatial
                for j in 0..<spatial { y[offset + j] = x[offset + j] + v }
            }
        }
    }

    static func backward(_ node: NodeRun) {
        guard let dy = node.outputGradient(0) else { return }
        let c = node.inputTypes[0].shape[0], spatial = node.inputTypes[0].elementsPerSample / c
        let perSample = node.inputTypes[1].isBatched
        if let dx = node.inputGradient(0) { for j in 0..<node.outputCount(0) { dx[j] += dy[j] } }
        guard let db = node.inputGradient(1) else { return }
        for r in 0..<node.rows {
            for k in 0..<c {
                var total: Float = 0
                let offset = (r * c + k) * spatial
                for j in 0..<spatial { total += dy[offset + j] }
                db[(perSample ? r * c : 0) + k] += total
            }
        }
    }
}

extension GraphBuilder {
    /// x [C, ...] with b[c] added to every element of channel c.
    public func addPerChannel(_ x: ValueID, _ b: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.addPerChannel, [x, b], name: name)
    }
}
