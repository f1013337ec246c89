import ModelFile
/// What a batch is trained towards: class labels (for softmax cross-entropy) or target values
/// (for mean squared error), one row per sample.
public enum Targets {
    case labels(UnsafePointer<Int32>)
    case values(UnsafePointer<Float>)
}

/// The losses a network can be trained with.
public enum LossKind: String, Codable, Sendable {
    case softmaxCrossEntropy = "softmax-cross-entropy"
    case meanSquaredError = "mse"
    /// One logit per sample, sigmoid and binary cross-entropy against 0/1 labels.
    case binaryCrossEntropy = "binary-cross-entropy"

    /// Whether the targets are class labels (else values).
    public var usesLabels: Bool { self != .meanSquaredError }

    /// Mean loss over the batch; also writes dL/d(output) into `gradient` when given.
    public func evaluate(output: Matrix, targets: Targets, gradient: Matrix?) -> Float {
        switch (self, targets) {
        case (.softmaxCrossEntropy, .labels(let labels)):
            return SoftmaxCrossEntropy.evaluate(logits: output, labels: labels, gradient: gradient)
        case (.meanSquaredError, .values(let values)):
            return MeanSquaredError.evaluate(output: output, targets: values, gradient: gradient)
        case (.binaryCrossEntropy, .labels(let labels)):
            return BinaryCrossEntropy.evaluate(logits: output, labels: labels, gradient: gradient)
        default:
            preconditionFailure("\(self) needs \(usesLabels ? "labels" : "values") as targets")
        }
    }
}
