/// Constants of model file version 2, the graph format (docs/FORMAT.md, "Version 2").
public enum GraphFormat {
    public static let version: UInt32 = 2
    public static let valueRecordSize = 96
    public static let nodeRecordSize = 128
    public static let argumentRecordSize = 48
    public static let nameBytes = 48
    public static let argumentNameBytes = 16
    public static let maxValues = 1 << 16
    public static let maxNodes = 1 << 14
    public static let maxArguments = 1 << 18
    /// Inputs, outputs and arguments one node may have, and the integers one argument may hold.
    public static let maxNodeInputs = 6
    public static let maxNodeOutputs = 2
    public static let maxNodeArguments = 16
    public static let maxArgumentValues = 6
    /// The names of a density entry's input and output values (a flow's −log p(x); docs/FORMAT.md).
    public static let densityInputName: StaticString = "density.input"
    public static let densityOutputName: StaticString = "density.nll"
    /// A diffusion entry's names (docs/FORMAT.md): the second input, the timestep's embedding
    /// [E]; the parameters holding every step's embedding [T, E], ᾱ_1…ᾱ_T [T], and the sampler
    /// [kind, steps, clip] (`DiffusionEntry`).
    public static let diffusionTimeName: StaticString = "diffusion.time"
    public static let diffusionEmbeddingName: StaticString = "diffusion.embedding"
    public static let diffusionScheduleName: StaticString = "diffusion.alpha_bar"
    public static let diffusionSamplerName: StaticString = "diffusion.sampler"
    /// A value record's tensor field when no tensor holds the value.
    public static let noTensor = UInt32.max

    public enum ElementCode: UInt32 { case float32 = 1, int32 = 2 }
    public enum RoleCode: UInt32 { case input = 1, parameter = 2, activation = 3 }
    public enum ArgumentType: UInt32 { case ints = 1, floats = 2 }

    /// The ops a version-2 file may hold. The raw value is the code in node records; `name` is the
    /// op's name in the graph (`OpKind`) and in messages.
    public enum Op: UInt32, CaseIterable, Sendable {
        case dense = 1, relu = 2, elu = 3, sigmoid = 4, tanh = 5, conv2d = 6, maxPool2d = 7, avgPool2d = 8
        case channelAffine = 9, reshape = 10, add = 11, kernel = 12, pairwiseVote = 13, nearestNeighbours = 14
        case embedding = 15, layerNorm = 16, matmul = 17, slice = 18, attention = 19, gelu = 20, transpose = 21
        case mul = 22, sub = 23, exp = 24, neg = 25, log = 26, square = 27, sum = 28
        case concat = 29, upsample2d = 30, addPerChannel = 31

        public var name: String {
            switch self {
            case .dense: "dense"
            case .relu: "relu"
            case .elu: "elu"
            case .sigmoid: "sigmoid"
            case .tanh: "tanh"
            case .conv2d: "conv2d"
            case .maxPool2d: "maxPool2d"
            case .avgPool2d: "avgPool2d"
            case .channelAffine: "channelAffine"
            case .reshape: "reshape"
            case .add: "add"
            case .kernel: "kernel"
            case .pairwiseVote: "pairwiseVote"
            case .nearestNeighbours: "nearestNeighbours"
            case .embedding: "embedding"
            case .layerNorm: "layerNorm"
            case .matmul: "matmul"
            case .slice: "slice"
            case .attention: "attention"
            case .gelu: "gelu"
            case .transpose: "transpose"
            case .mul: "mul"
            case .sub: "sub"
            case .exp: "exp"
            case .neg: "neg"
            case .log: "log"
            case .square: "square"
            case .sum: "sum"
            case .concat: "concat"
            case .upsample2d: "upsample2d"
            case .addPerChannel: "addPerChannel"
            }
        }

        public init?(name: String) {
            guard let op = Op.allCases.first(where: { $0.name == name }) else { return nil }
            self = op
        }

        /// Inputs and outputs a node of this op has.
        public var arity: (inputs: Int, outputs: Int) {
            switch self {
            case .dense, .conv2d, .channelAffine, .nearestNeighbours, .layerNorm, .attention: (3, 1)
            case .add, .kernel, .embedding, .matmul, .mul, .sub, .concat, .addPerChannel: (2, 1)
            case .relu, .elu, .sigmoid, .tanh, .maxPool2d, .avgPool2d, .reshape, .pairwiseVote, .slice, .gelu, .transpose: (1, 1)
            case .exp, .neg, .log, .square, .sum, .upsample2d: (1, 1)
            }
        }

        /// The element-wise activation this op applies, for the four activation ops.
        public var activation: ActivationKind? {
            switch self {
            case .relu: .relu
            case .elu: .elu
            case .sigmoid: .sigmoid
            case .tanh: .tanh
            default: nil
            }
        }
    }
}
