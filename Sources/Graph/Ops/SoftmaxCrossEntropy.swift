import LowLevel

/// Loss −log softmax(z)[label] per row, from logits z [batch, ..., classes] and int32 labels
/// [batch, ...] (every position of a sequence: logits [batch, T, V], labels [batch, T]);
/// dz += dloss·(softmax(z) − onehot(label)). The probabilities are saved for backward. A label
/// outside 0..<classes gives a NaN loss (the trainer stops on it) and no gradient.
enum SoftmaxCrossEntropy: Operator {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 2 else { throw ShapeError("takes logits and labels, got \(inputs.count) inputs") }
        let z = inputs[0], labels = inputs[1]
        guard z.element == .float32, z.isBatched, !z.shape.isEmpty else { throw ShapeError("logits must be float32 [batch, ..., classes]") }
        guard labels.element == .int32, labels.isBatched, labels.shape == Array(z.shape.dropLast()) else {
            throw ShapeError("labels must be int32 [batch\(z.shape.dropLast().map { ", \($0)" }.joined())]")
        }
        return [TensorType(labels.shape, batched: true)]
    }

    static func buffers(inputs: [TensorType], outputs: [TensorType], attributes: Attributes, maxBatch: Int) -> [BufferRequest] {
        [.floats(.saved, maxBatch * inputs[0].elementsPerSample)]
    }

    static func forward(_ node: NodeRun) {
        let classes = node.inputTypes[0].shape.last!, rows = node.inputCount(1)
        let z = node.input(0), labels = node.intInput(1), loss = node.output(0), p = node.floatBuffer(0)
        Kernels.logSoftmaxRows(z, into: p, rows: rows, columns: classes)
        for r in 0..<rows {
            let label = Int(labels[r])
            loss[r] = label >= 0 && label < classes ? -p[r * classes + label] : .nan
        }
        Kernels.exp(p, into: p, count: rows * classes)
    }

    static var overwritesGradients: Bool { true }

    static func backward(_ node: NodeRun) {
        guard let dloss = node.outputGradient(0), let dz = node.inputGradient(0) else { return }
        let classes = node.inputTypes[0].shape.last!, overwrite = node.overwrites(0)
        let labels = node.intInput(1), p = node.floatBuffer(0)
        for r in 0..<node.inputCount(1) {
            let label = Int(labels[r]), row = r * classes
            guard label >= 0 && label < classes else {
                if overwrite { for j in 0..<classes { dz[row + j] = 0 } }
                continue
            }
            let g = dloss[r]
            if overwrite {
                for j in 0..<classes { dz[row + j] = g * p[row + j] }
            } else {
                for j in 0..<classes { dz[row + j] += g * p[row + j] }
            }
            dz[row + label] -= g
        }
    }
}

extension GraphBuilder {
    public func softmaxCrossEntropy(logits: ValueID, labels: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.softmaxCrossEntropy, [logits, labels], name: name)
    }
}
