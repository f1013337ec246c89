/// Columns `start` ..< `start` + `count` (arguments) of the last dimension of x [..., n]: the q, k
/// and v thirds of a packed projection. Backward adds the gradient back into those columns.
enum Slice: Operator {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 1 else { throw ShapeError("takes 1 input, got \(inputs.count)") }
        let x = inputs[0], start = attributes.int("start"), count = attributes.int("count")
        guard x.element == .float32, let n = x.shape.last else { throw ShapeError("x must be float32 [..., n]") }
        guard start >= 0, count > 0, start + count <= n else { throw ShapeError("columns \(start)..<\(start + count) are outside 0..<\(n)") }
        return [TensorType(x.shape.dropLast() + [count], batched: x.isBatched)]
    }

    static func forward(_ node: NodeRun) {
        let n = node.inputTypes[0].shape.last!, start = node.attributes.int("start"), count = node.attributes.int("count")
        let x = node.input(0), y = node.output(0)
        for r in 0..<node.outputCount(0) / count { (y + r * count).update(from: x + r * n + start, count: count) }
    }

    static func backward(_ node: NodeRun) {
        guard let dy = node.outputGradient(0), let dx = node.inputGradient(0) else { return }
        let n = node.inputTypes[0].shape.last!, start = node.attributes.int("start"), count = node.attributes.int("count")
        for r in 0..<node.outputCount(0) / count {
            let target = dx + r * n + start, source = dy + r * count
            for j in 0..<count { target[j] += source[j] }
        }
    }
}

extension GraphBuilder {
    public func slice(_ x: ValueID, columns: Range<Int>, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.slice, [x], attributes: Attributes(["start": .int(columns.lowerBound), "count": .int(columns.count)]), name: name)
    }
}
