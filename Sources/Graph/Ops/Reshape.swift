/// The same elements under another per-sample shape (argument `shape`, same element count):
/// flattening a C×H×W sample into a vector. A copy, so each value keeps its own buffer.
enum Reshape: Operator {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 1 else { throw ShapeError("takes 1 input, got \(inputs.count)") }
        let shape = attributes.ints("shape")
        guard shape.allSatisfy({ $0 > 0 }), shape.reduce(1, *) == inputs[0].elementsPerSample else {
            throw ShapeError("shape \(shape) does not hold \(inputs[0].elementsPerSample) elements")
        }
        return [TensorType(shape, inputs[0].element, batched: inputs[0].isBatched)]
    }

    static var overwritesGradients: Bool { true }

    static func forward(_ node: NodeRun) {
        let n = node.outputCount(0)
        node.output(0).update(from: node.input(0), count: n)
    }

    static func backward(_ node: NodeRun) {
        guard let dx = node.inputGradient(0) else { return }
        let n = node.inputCount(0)
        guard let dy = node.outputGradientOrClearing(input: 0, count: n) else { return }
        if node.overwrites(0) {
            dx.update(from: dy, count: n)
        } else {
            for i in 0..<n { dx[i] += dy[i] }
        }
    }
}

extension GraphBuilder {
    public func reshape(_ x: ValueID, to shape: [Int], name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.reshape, [x], attributes: Attributes(["shape": .ints(shape)]), name: name)
    }

    /// [batch, ...] → [batch, n].
    public func flatten(_ x: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try reshape(x, to: [type(of: x).elementsPerSample], name: name)
    }
}
