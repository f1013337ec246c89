/// Nearest-neighbour upsampling of x [C, H, W] by an integer `factor` (argument): y [C, H·f, W·f],
/// y[c, i, j] = x[c, i / f, j / f]. Backward sums each f×f block of dy into its source.
enum Upsample2D: Operator {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 1 else { throw ShapeError("takes 1 input, got \(inputs.count)") }
        let x = inputs[0], f = attributes.int("factor")
        guard x.element == .float32, x.shape.count == 3 else { throw ShapeError("x must be float32 [C, H, W]") }
        guard f >= 1 && f <= 64 else { throw ShapeError("factor \(f) is not in 1...64") }
        return [TensorType([x.shape[0], x.shape[1] * f, x.shape[2] * f], batched: x.isBatched)]
    }

    static func forward(_ node: NodeRun) {
        let s = node.inputTypes[0].shape, f = node.attributes.int("factor")
        let planes = node.inputCount(0) / (s[1] * s[2]), x = node.input(0), y = node.output(0)
        let (h, w) = (s[1], s[2])
        for p in 0..<planes {
            for i in 0..<(h * f) {
                let source = x + (p * h + i / f) * w, row = y + (p * h * f + i) * w * f
                for j in 0..<(w * f) { row[j] = source[j / f] }
            }
        }
    }

    static func backward(_ node: NodeRun) {
        guard let dy = node.outputGradient(0), let dx = node.inputGradient(0) else { return }
        let s = node.inputTypes[0].shape, f = node.attributes.int("factor")
        let planes = node.inputCount(0) / (s[1] * s[2])
        let (h, w) = (s[1], s[2])
        for p in 0..<planes {
            for i in 0..<(h * f) {
                let target = dx + (p * h + i / f) * w, row = dy + (p * h * f + i) * w * f
                for j in 0..<(w * f) { target[j / f] += row[j] }
            }
        }
    }
}

extension GraphBuilder {
    /// x [C, H, W] upsampled by `factor` in both directions, each pixel repeated.
    public func upsample2d(_ x: ValueID, factor: Int, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.upsample2d, [x], attributes: Attributes(["factor": .int(factor)]), name: name)
    }
}
