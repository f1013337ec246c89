/// What one op is: its shape rule, the extra buffers it needs, and its forward and backward
/// passes. Each op is one file under `Ops/` with all four side by side, plus its builder method.
///
/// Backward *accumulates* (`+=`) into input gradients, which the executor zeroes before the first
/// writer (or lets the first writer overwrite, see `overwritesGradients`); a value read by
/// several nodes therefore gets the sum of their gradients. An input
/// gradient is nil when no gradient is wanted there (integer inputs, data, frozen paths); an
/// output gradient is nil when nothing downstream depends on that output (read it as zero).
/// Neither pass may allocate heap memory.
public protocol Operator {
    /// Output types for these inputs, or why they do not fit (wrong count, shapes, element types).
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType]
    /// Buffers beyond inputs and outputs (scratch, saved-for-backward), planned with the rest.
    static func buffers(inputs: [TensorType], outputs: [TensorType], attributes: Attributes, maxBatch: Int) -> [BufferRequest]
    static func forward(_ node: NodeRun)
    static func backward(_ node: NodeRun)
    /// Whether backward honours `NodeRun.overwrites(i)`: where the planner finds this node the
    /// first writer of input i's gradient, it skips zeroing it and the op writes (=) instead of
    /// adding. Ops whose kernels overwrite anyway (GEMM with β = 0, the layer kernels) save a pass.
    static var overwritesGradients: Bool { get }
    /// Whether backward can apply plain SGD to a parameter input itself (`NodeRun.fusedSGD(i)`),
    /// inside the product that would compute its gradient, so the gradient is never stored.
    static var fusesSGD: Bool { get }
    /// Whether y may share x's memory when x dies here (an element-wise op reading input 0 only
    /// where it writes the output); inference plans then give the output no bytes of its own.
    static var runsInPlace: Bool { get }
    /// False for ops without a gradient (votes, neighbour lookups): a training plan that needs
    /// backward through one is refused.
    static var isDifferentiable: Bool { get }
}

extension Operator {
    public static func buffers(inputs: [TensorType], outputs: [TensorType], attributes: Attributes, maxBatch: Int) -> [BufferRequest] { [] }
    public static var overwritesGradients: Bool { false }
    public static var fusesSGD: Bool { false }
    public static var runsInPlace: Bool { false }
    public static var isDifferentiable: Bool { true }
}

/// Extra memory an op asks for, in bytes for the plan's largest batch, live during the op's
/// forward pass (`.forward`), from its forward to its backward (`.saved`), during its backward, or
/// for the executor's whole life when the node runs backward (`.backwardState`: zeroed once at
/// construction and never shared, for backward's buffers whose untouched parts must stay zero).
public struct BufferRequest: Sendable, Equatable {
    public enum Lifetime: Sendable { case forward, saved, backward, backwardState }
    public var lifetime: Lifetime
    public var bytes: Int

    public init(_ lifetime: Lifetime, bytes: Int) {
        self.lifetime = lifetime
        self.bytes = bytes
    }

    /// `count` floats (or int32s).
    public static func floats(_ lifetime: Lifetime, _ count: Int) -> BufferRequest { BufferRequest(lifetime, bytes: 4 * count) }
}

/// Every op the graph knows. The raw value is the op's name in model files and messages; adding an
/// op is a new case here and in `definition`, and its file under `Ops/`.
public enum OpKind: String, Codable, Sendable, CaseIterable {
    case constant
    case add, sub, mul, div
    case neg, exp, log, sin, cos, tanh, sqrt, square, relu, sigmoid, elu, leakyReLU
    case sum, mean
    case matmul
    case softmaxCrossEntropy
    case dense, conv2d, maxPool2d, avgPool2d, batchNorm, dropout, reshape, channelAffine
    case embedding, layerNorm, gelu, softmax, attention, sinusoidalPositions, slice, transpose
    case kernel, pairwiseVote, nearestNeighbours
    case preferenceLoss
    case concat, upsample2d, addPerChannel

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
        case .elu: ELU.self
        case .leakyReLU: LeakyReLU.self
        case .dense: Dense.self
        case .conv2d: Conv2D.self
        case .maxPool2d: MaxPool2D.self
        case .avgPool2d: AvgPool2D.self
        case .batchNorm: BatchNorm.self
        case .dropout: Dropout.self
        case .reshape: Reshape.self
        case .channelAffine: ChannelAffine.self
        case .embedding: Embedding.self
        case .layerNorm: LayerNorm.self
        case .gelu: GELU.self
        case .softmax: Softmax.self
        case .attention: Attention.self
        case .sinusoidalPositions: SinusoidalPositions.self
        case .slice: Slice.self
        case .transpose: Transpose.self
        case .kernel: KernelEvaluation.self
        case .pairwiseVote: PairwiseVoting.self
        case .nearestNeighbours: NearestNeighbourLookup.self
        case .preferenceLoss: PreferenceLoss.self
        case .concat: Concat.self
        case .upsample2d: Upsample2D.self
        case .addPerChannel: AddPerChannel.self
        }
    }
}
