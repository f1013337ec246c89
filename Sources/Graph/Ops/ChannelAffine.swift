/// y[c, ·] = scale[c]·x[c, ·] + shift[c] per channel of x [batch, C, ...] (or [batch, C]): batch
/// normalisation in evaluation with its statistics folded in, and feature standardisation.
enum ChannelAffine: Operator {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 3 else { throw ShapeError("takes x, scale and shift, got \(inputs.count) inputs") }
        let x = inputs[0]
        guard x.element == .float32, x.isBatched, !x.shape.isEmpty else { throw ShapeError("x must be float32 [batch, C, ...]") }
        for t in inputs[1...] where t != TensorType([x.shape[0]], batched: false) {
            throw ShapeError("scale and shift must be [\(x.shape[0])]")
        }
        return [x]
    }

    static var overwritesGradients: Bool { true }
    static var runsInPlace: Bool { true }

    static func forward(_ node: NodeRun) {
        let shape = node.inputTypes[0].shape, channels = shape[0], s = shape.dropFirst().reduce(1, *)
        let x = node.input(0), scale = node.input(1), shift = node.input(2), y = node.output(0)
        for n in 0..<node.rows {
            for c in 0..<channels {
                let source = x + (n * channels + c) * s, target = y + (n * channels + c) * s
                for i in 0..<s { target[i] = source[i] * scale[c] + shift[c] }
            }
        }
    }

    static func backward(_ node: NodeRun) {
        guard let dy = node.outputGradient(0) else { return }
        let shape = node.inputTypes[0].shape, channels = shape[0], s = shape.dropFirst().reduce(1, *)
        let x = node.input(0), scale = node.input(1)
        let dx = node.inputGradient(0), dscale = node.inputGradient(1), dshift = node.inputGradient(2)
        if let dscale, node.overwrites(1) { for c in 0..<channels { dscale[c] = 0 } }
        if let dshift, node.overwrites(2) { for c in 0..<channels { dshift[c] = 0 } }
        for n in 0..<node.rows {
            for c in 0..<channels {
                let offset = (n * channels + c) * s
                var sumDy: Float = 0, sumDyX: Float = 0
                for i in 0..<s {
                    sumDy += dy[offset + i]
                    sumDyX += dy[offset + i] * x[offset + i]
                    if let dx { dx[offset + i] = node.overwrites(0) ? dy[offset + i] * scale[c] : dx[offset + i] + dy[offset + i] * scale[c] }
                }
                dscale?[c] += sumDyX
                dshift?[c] += sumDy
            }
        }
    }
}

extension GraphBuilder {
    public func channelAffine(_ x: ValueID, scale: ValueID, shift: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.channelAffine, [x, scale, shift], name: name)
    }
}
