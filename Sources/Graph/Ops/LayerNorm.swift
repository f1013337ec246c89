import LowLevel

/// Layer normalisation over the last dimension of x [..., D], with γ and β [D]:
/// y = γ·(x − μ)/√(σ² + ε) + β, μ and σ² of each row (biased variance, ε = 1e-5, as PyTorch).
/// Each row's mean and 1/σ are saved for backward.
enum LayerNorm: Operator {
    static let epsilon: Float = 1e-5

    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 3 else { throw ShapeError("takes x, γ and β, got \(inputs.count) inputs") }
        let x = inputs[0]
        guard x.element == .float32, let d = x.shape.last else { throw ShapeError("x must be float32 [..., D]") }
        for t in inputs[1...] where t != TensorType([d], batched: false) { throw ShapeError("γ and β must be [\(d)]") }
        return [x]
    }

    static func buffers(inputs: [TensorType], outputs: [TensorType], attributes: Attributes, maxBatch: Int) -> [BufferRequest] {
        let x = inputs[0], rows = x.count(rows: maxBatch) / x.shape.last!
        return [.floats(.saved, 2 * rows)] // mean and 1/σ per row
    }

    static var overwritesGradients: Bool { true }

    static func forward(_ node: NodeRun) {
        let d = node.inputTypes[0].shape.last!, rows = node.inputCount(0) / d
        let mean = node.floatBuffer(0)
        Kernels.layerNorm(node.input(0), gamma: node.input(1), beta: node.input(2), rows: rows, width: d, epsilon: epsilon,
                          into: node.output(0), mean: mean, inverseStd: mean + rows)
    }

    static func backward(_ node: NodeRun) {
        guard let dy = node.outputGradient(0) else { return }
        let d = node.inputTypes[0].shape.last!, rows = node.inputCount(0) / d
        let x = node.input(0), gamma = node.input(1)
        let mean = node.floatBuffer(0), inverseStd = mean + rows
        let dx = node.inputGradient(0), dgamma = node.inputGradient(1), dbeta = node.inputGradient(2)
        if let dgamma, node.overwrites(1) { dgamma.update(repeating: 0, count: d) }
        if let dbeta, node.overwrites(2) { dbeta.update(repeating: 0, count: d) }
        Kernels.layerNormBackward(x, gamma: gamma, outputGradient: dy, mean: mean, inverseStd: inverseStd, rows: rows, width: d,
                                  dx: dx, overwrite: node.overwrites(0), dgamma: dgamma, dbeta: dbeta)
    }
}

extension GraphBuilder {
    /// Layer norm with new parameters `name.weight` (γ) and `name.bias` (β), both [D].
    public func layerNorm(_ x: ValueID, name: String) throws(GraphError) -> ValueID {
        let d = type(of: x).shape.last ?? 1
        let gamma = parameter("\(name).weight", shape: [d]), beta = parameter("\(name).bias", shape: [d])
        return try apply1(.layerNorm, [x, gamma, beta], name: name)
    }
}
