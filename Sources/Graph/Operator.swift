/// What one op is: its shape rule, the extra buffers it needs, and its forward and backward
/// passes. Each op is one file under `Ops/` with all four side by side, plus its builder method.
///
/// Backward *accumulates* (`+=`) into input gradients, which the executor zeroes before the first
/// writer; a value read by several nodes therefore gets the sum of their gradients. An input
/// gradient is nil when no gradient is wanted there (integer inputs, data, frozen paths); an
/// output gradient is nil when nothing downstream depends on that output (read it as zero).
/// Neither pass may allocate heap memory.
public protocol Operator {
    /// Output types for these inputs, or why they do not fit (wrong count, shapes, element types).
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType]
    /// Buffers beyond inputs and outputs (scratch, saved-for-backward), planned with the rest.
    static func buffers(inputs: [TensorType], outputs: [TensorType], attributes: Attributes) -> [BufferRequest]
    static func forward(_ node: NodeRun)
    static func backward(_ node: NodeRun)
}

extension Operator {
    public static func buffers(inputs: [TensorType], outputs: [TensorType], attributes: Attributes) -> [BufferRequest] { [] }
}

/// Extra memory an op asks for: `bytesPerSample × maxBatch + fixedBytes`, live during the op's
/// forward pass (`.forward`), from its forward to its backward (`.saved`), or during its backward.
public struct BufferRequest: Sendable, Equatable {
    public enum Lifetime: Sendable { case forward, saved, backward }
    public var lifetime: Lifetime
    public var bytesPerSample: Int
    public var fixedBytes: Int

    public init(_ lifetime: Lifetime, bytesPerSample: Int = 0, fixedBytes: Int = 0) {
        self.lifetime = lifetime
        self.bytesPerSample = bytesPerSample
        self.fixedBytes = fixedBytes
    }

    public func bytes(maxBatch: Int) -> Int { bytesPerSample * maxBatch + fixedBytes }
}

/// Every op the graph knows. The raw value is the op's name in model files and messages; adding an
/// op is a new case here and in `definition`, and its file under `Ops/`.
public enum OpKind: String, Codable, Sendable, CaseIterable {
    case constant
    case add, sub, mul, div
    case neg, exp, log, sin, cos, tanh, sqrt, square, relu, sigmoid
    case sum, mean
    case matmul
    case softmaxCrossEntropy

    public var definition: any Operator.Type {
        switch self {
        case .constant: Constant.self
        case .add: Add.self
        case .sub: Sub.self
        case .mul: Mul.self
        case .div: Div.self
        case .neg: Neg.self
        case .exp: Exp.self
        case .log: Log.self
        case .sin: Sin.self
        case .cos: Cos.self
        case .tanh: Tanh.self
        case .sqrt: Sqrt.self
        case .square: Square.self
        case .relu: ReLU.self
        case .sigmoid: Sigmoid.self
        case .sum: Sum.self
        case .mean: Mean.self
        case .matmul: MatMul.self
        case .softmaxCrossEntropy: SoftmaxCrossEntropy.self
        }
    }
}
