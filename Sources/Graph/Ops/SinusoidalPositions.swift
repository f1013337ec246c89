import Glibc

/// The course's sinusoidal positional encoding as a [T, D] table (unbatched; no inputs, arguments
/// `positions` T and `width` D): W[t, 2i] = sin(t / 10000^(2i/D)), W[t, 2i+1] = cos(t / 10000^(2i/D)).
/// Added to token embeddings, it broadcasts over the batch.
enum SinusoidalPositions: Operator {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.isEmpty else { throw ShapeError("takes no inputs, got \(inputs.count)") }
        let t = attributes.int("positions"), d = attributes.int("width")
        guard t > 0, d > 0, d % 2 == 0 else { throw ShapeError("positions must be positive and the width even, not \(t) and \(d)") }
        return [TensorType([t, d], batched: false)]
    }

    static func forward(_ node: NodeRun) {
        let shape = node.outputTypes[0].shape, t = shape[0], d = shape[1], y = node.output(0)
        for position in 0..<t {
            for i in 0..<d / 2 {
                let angle = Double(position) / pow(10_000, Double(2 * i) / Double(d))
                y[position * d + 2 * i] = Float(Glibc.sin(angle))
                y[position * d + 2 * i + 1] = Float(Glibc.cos(angle))
            }
        }
    }

    static func backward(_ node: NodeRun) {}
}

extension GraphBuilder {
    public func sinusoidalPositions(positions: Int, width: Int, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.sinusoidalPositions, [], attributes: Attributes(["positions": .int(positions), "width": .int(width)]), name: name)
    }
}
