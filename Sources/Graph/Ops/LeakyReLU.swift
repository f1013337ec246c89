/// y = x for x > 0, slope·x otherwise (`slope` argument, 0 ≤ slope < 1; 0.2 is the GAN
/// discriminator's usual choice); dy/dx = 1 for x > 0, else slope. Decided from y, whose sign is
/// x's, so backward works in place.
enum LeakyReLU: Operator {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 1 else { throw ShapeError("takes 1 input, got \(inputs.count)") }
        guard inputs[0].element == .float32 else { throw ShapeError("input must be float32") }
        let slope = attributes.float("slope")
        guard slope >= 0 && slope < 1 else { throw ShapeError("slope \(slope) is outside [0, 1)") }
        return inputs
    }

    static var overwritesGradients: Bool { true }
    static var runsInPlace: Bool { true }

    static func forward(_ node: NodeRun) {
        let x = node.input(0), y = node.output(0), slope = node.attributes.float("slope")
        for i in 0..<node.outputCount(0) { y[i] = x[i] > 0 ? x[i] : slope * x[i] }
    }

    static func backward(_ node: NodeRun) {
        guard let dx = node.inputGradient(0) else { return }
        let y = node.output(0), n = node.outputCount(0), slope = node.attributes.float("slope")
        guard let dy = node.outputGradientOrClearing(input: 0, count: n) else { return }
        if node.overwrites(0) {
            for i in 0..<n { dx[i] = y[i] > 0 ? dy[i] : slope * dy[i] }
        } else {
            for i in 0..<n { dx[i] += y[i] > 0 ? dy[i] : slope * dy[i] }
        }
    }
}

extension GraphBuilder {
    public func leakyReLU(_ x: ValueID, slope: Float = 0.2, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.leakyReLU, [x], attributes: Attributes(["slope": .float(slope)]), name: name)
    }
}
