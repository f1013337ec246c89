import Glibc

/// Softmax over the last dimension of x [..., n]; with argument `causal` = 1 (x [..., T, T]),
/// row i sees only columns j ≤ i (the others are 0), attention's mask. Backward:
/// dx = y ⊙ (dy − Σ dy ⊙ y) per row.
enum Softmax: Operator {
    static func causal(_ attributes: Attributes) -> Bool { attributes.int("causal") != 0 }

    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 1 else { throw ShapeError("takes 1 input, got \(inputs.count)") }
        let x = inputs[0]
        guard x.element == .float32, !x.shape.isEmpty else { throw ShapeError("x must be float32 [..., n]") }
        if causal(attributes), x.shape.count < 2 || x.shape[x.shape.count - 2] != x.shape.last! {
            throw ShapeError("a causal softmax needs square [..., T, T] rows")
        }
        return [x]
    }

    static var overwritesGradients: Bool { true }

    static func forward(_ node: NodeRun) {
        let n = node.inputTypes[0].shape.last!, rows = node.inputCount(0) / n, masked = causal(node.attributes)
        let x = node.input(0), y = node.output(0)
        for r in 0..<rows {
            let xr = x + r * n, yr = y + r * n
            let visible = masked ? r % n + 1 : n
            var largest = -Float.infinity
            for j in 0..<visible { largest = max(largest, xr[j]) }
            var sum: Float = 0
            for j in 0..<visible { yr[j] = expf(xr[j] - largest); sum += yr[j] }
            let scale = 1 / sum
            for j in 0..<visible { yr[j] *= scale }
            for j in visible..<n { yr[j] = 0 }
        }
    }

    static func backward(_ node: NodeRun) {
        guard let dy = node.outputGradient(0), let dx = node.inputGradient(0) else { return }
        let n = node.inputTypes[0].shape.last!, rows = node.inputCount(0) / n, overwrite = node.overwrites(0)
        let y = node.output(0)
        for r in 0..<rows {
            let yr = y + r * n, gr = dy + r * n, dr = dx + r * n
            var dot: Float = 0
            for j in 0..<n { dot += gr[j] * yr[j] }
            for j in 0..<n {
                let g = yr[j] * (gr[j] - dot)
                dr[j] = overwrite ? g : dr[j] + g
            }
        }
    }
}

extension GraphBuilder {
    public func softmax(_ x: ValueID, causal: Bool = false, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.softmax, [x], attributes: causal ? Attributes(["causal": .int(1)]) : Attributes(), name: name)
    }
}
