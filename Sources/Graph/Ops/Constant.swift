/// A tensor of one repeated value (argument `value`, shape `shape`), unbatched: the 5 in 5·z₁.
/// No inputs, so nothing to differentiate.
enum Constant: Operator {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.isEmpty else { throw ShapeError("takes no inputs, got \(inputs.count)") }
        let shape = attributes.ints("shape")
        guard shape.allSatisfy({ $0 > 0 }) else { throw ShapeError("shape \(shape) has a dimension below 1") }
        guard attributes.float("value").isFinite else { throw ShapeError("value must be finite") }
        return [TensorType(shape, batched: false)]
    }

    static func forward(_ node: NodeRun) {
        let value = node.attributes.float("value"), y = node.output(0)
        for i in 0..<node.outputCount(0) { y[i] = value }
    }

    static func backward(_ node: NodeRun) {}
}

extension GraphBuilder {
    /// A constant scalar (or tensor of `shape`) that broadcasts against anything.
    public func constant(_ value: Float, shape: [Int] = [], name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.constant, [], attributes: Attributes(["value": .float(value), "shape": .ints(shape)]), name: name)
    }
}
