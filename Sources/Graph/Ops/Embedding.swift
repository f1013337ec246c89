/// Rows of a table by index: ids int32 [batch, T] and a table [V, D] give [batch, T, D] (token
/// embeddings). Backward adds each output row's gradient to its id's table row (a table row read
/// twice gets both). An id outside 0..<V gives a row of NaN, so the loss shows it, and no gradient.
enum Embedding: Operator {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 2 else { throw ShapeError("takes ids and a table, got \(inputs.count) inputs") }
        let ids = inputs[0], table = inputs[1]
        guard ids.element == .int32 else { throw ShapeError("ids must be int32") }
        guard table.element == .float32, !table.isBatched, table.shape.count == 2 else { throw ShapeError("the table must be float32 [V, D]") }
        return [TensorType(ids.shape + [table.shape[1]], batched: ids.isBatched)]
    }

    static func forward(_ node: NodeRun) {
        let ids = node.intInput(0), table = node.input(1), y = node.output(0)
        let vocabulary = node.inputTypes[1].shape[0], width = node.inputTypes[1].shape[1]
        for t in 0..<node.inputCount(0) {
            let id = Int(ids[t]), row = y + t * width
            if id >= 0 && id < vocabulary {
                row.update(from: table + id * width, count: width)
            } else {
                row.update(repeating: .nan, count: width)
            }
        }
    }

    static func backward(_ node: NodeRun) {
        guard let dy = node.outputGradient(0), let dtable = node.inputGradient(1) else { return }
        let ids = node.intInput(0)
        let vocabulary = node.inputTypes[1].shape[0], width = node.inputTypes[1].shape[1]
        for t in 0..<node.inputCount(0) {
            let id = Int(ids[t])
            guard id >= 0 && id < vocabulary else { continue }
            let target = dtable + id * width, source = dy + t * width
            for j in 0..<width { target[j] += source[j] }
        }
    }
}

extension GraphBuilder {
    /// table[ids]: `ids` int32, `table` a [V, D] parameter.
    public func embedding(_ ids: ValueID, table: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.embedding, [ids, table], name: name)
    }
}
