/// The matrix transpose of each sample, x [m, n] → y [n, m]: a convolution's channel-first
/// [features, positions] output as the [positions, features] rows a transformer reads (a vision
/// transformer's patch embedding). Backward transposes the gradient back.
enum Transpose: Operator {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 1 else { throw ShapeError("takes 1 input, got \(inputs.count)") }
        let x = inputs[0]
        guard x.element == .float32, x.shape.count == 2 else { throw ShapeError("x must be float32 [m, n] per sample") }
        return [TensorType([x.shape[1], x.shape[0]], batched: x.isBatched)]
    }

    static var overwritesGradients: Bool { true }

    static func forward(_ node: NodeRun) {
        let (m, n) = (node.inputTypes[0].shape[0], node.inputTypes[0].shape[1])
        let x = node.input(0), y = node.output(0)
        for s in 0..<(node.outputCount(0) / (m * n)) {
            let xs = x + s * m * n, ys = y + s * m * n
            for i in 0..<m { for j in 0..<n { ys[j * m + i] = xs[i * n + j] } }
        }
    }

    static func backward(_ node: NodeRun) {
        guard let dx = node.inputGradient(0) else { return }
        let (m, n) = (node.inputTypes[0].shape[0], node.inputTypes[0].shape[1]), count = node.inputCount(0)
        guard let dy = node.outputGradientOrClearing(input: 0, count: count) else { return }
        let fresh = node.overwrites(0)
        for s in 0..<(count / (m * n)) {
            let dxs = dx + s * m * n, dys = dy + s * m * n
            for i in 0..<m {
                for j in 0..<n { dxs[i * n + j] = fresh ? dys[j * m + i] : dxs[i * n + j] + dys[j * m + i] }
            }
        }
    }
}

extension GraphBuilder {
    /// [m, n] → [n, m] per sample.
    public func transpose(_ x: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.transpose, [x], name: name)
    }
}
