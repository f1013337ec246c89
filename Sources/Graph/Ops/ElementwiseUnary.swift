/// The shared machinery of the one-input element-wise ops (exp, tanh, relu, ...): same type out as
/// in, y = f(x), and dx += dy·f′ where f′ may use x or y, whichever is cheaper.
protocol ElementwiseUnary: Operator {
    static func apply(_ x: Float) -> Float
    /// f′ at x, given y = f(x).
    static func derivative(x: Float, y: Float) -> Float
}

extension ElementwiseUnary {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 1 else { throw ShapeError("takes 1 input, got \(inputs.count)") }
        guard inputs[0].element == .float32 else { throw ShapeError("input must be float32") }
        return inputs
    }

    static func forward(_ node: NodeRun) {
        let x = node.input(0), y = node.output(0)
        for i in 0..<node.outputCount(0) { y[i] = apply(x[i]) }
    }

    static func backward(_ node: NodeRun) {
        guard let dy = node.outputGradient(0), let dx = node.inputGradient(0) else { return }
        let x = node.input(0), y = node.output(0)
        for i in 0..<node.outputCount(0) { dx[i] += dy[i] * derivative(x: x[i], y: y[i]) }
    }
}
