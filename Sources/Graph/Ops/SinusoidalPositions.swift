import LowLevel
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
        let shape = node.outputTypes[0].shape
        Kernels.sinusoidalPositions(positions: shape[0], width: shape[1], into: node.output(0))
    }

    static func backward(_ node: NodeRun) {}
}

extension GraphBuilder {
    public func sinusoidalPositions(positions: Int, width: Int, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.sinusoidalPositions, [], attributes: Attributes(["positions": .int(positions), "width": .int(width)]), name: name)
    }
}
