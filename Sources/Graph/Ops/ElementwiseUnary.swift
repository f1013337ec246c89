/// The shared machinery of the one-input element-wise ops (exp, tanh, relu, ...): same type out as
/// in, y = f(x), and dx += dy·f′ where f′ may use x or y, whichever is cheaper.
protocol ElementwiseUnary: Operator {
    static func apply(_ x: Float) -> Float
    /// f′ at x, given y = f(x).
    static func derivative(x: Float, y: Float) -> Float
    /// A vector kernel for y = f(x) over `count` elements, when LowLevel has one (the C runtime
    /// calls the same kernel, so Swift and C agree bit for bit); nil uses `apply`.
    static var vectorForward: ((UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)? { get }
    /// A vector kernel writing dx = dy·f′ from y, used when this node writes dx first.
    static var vectorBackward: ((UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)? { get }
}

extension ElementwiseUnary {
    static var vectorForward: ((UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)? { nil }
    static var vectorBackward: ((UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)? { nil }
}

extension ElementwiseUnary {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 1 else { throw ShapeError("takes 1 input, got \(inputs.count)") }
        guard inputs[0].element == .float32 else { throw ShapeError("input must be float32") }
        return inputs
    }

    static func forward(_ node: NodeRun) {
        let x = node.input(0), y = node.output(0)
        if let kernel = vectorForward { return kernel(x, y, node.outputCount(0)) }
        for i in 0..<node.outputCount(0) { y[i] = apply(x[i]) }
    }

    static var overwritesGradients: Bool { true }
    static var runsInPlace: Bool { true }

    static func backward(_ node: NodeRun) {
        guard let dx = node.inputGradient(0) else { return }
        let x = node.input(0), y = node.output(0), n = node.outputCount(0)
        guard let dy = node.outputGradientOrClearing(input: 0, count: n) else { return }
        if node.overwrites(0), let kernel = vectorBackward {
            kernel(y, dy, dx, n)
        } else if node.overwrites(0) {
            for i in 0..<n { dx[i] = dy[i] * derivative(x: x[i], y: y[i]) }
        } else {
            for i in 0..<n { dx[i] += dy[i] * derivative(x: x[i], y: y[i]) }
        }
    }
}
