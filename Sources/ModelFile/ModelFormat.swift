/// Constants of the model file format (docs/FORMAT.md).
public enum ModelFormat {
    public static let magic: [UInt8] = [0x49, 0x4E, 0x46, 0x4D, 0x4F, 0x44, 0x4C, 0x00]
    public static let version: UInt32 = 1
    public static let headerSize = 128
    public static let layerRecordSize = 64
    public static let tensorRecordSize = 96
    public static let tensorNameBytes = 48
    public static let alignment = 64
    public static let maxLayers = 1024
    public static let maxTensors = 4096

    public enum LayerKind: UInt32 {
        case dense = 1, activation = 2, conv2d = 3, maxPool = 4, averagePool = 5, channelAffine = 6
        case kernel = 7, pairwiseVote = 8, nearestNeighbours = 9
    }
    public enum OutputKind: UInt32 { case values = 0, probabilities = 1, scores = 2 }
    /// What the input is. `gaussianLatent`: a generative model's latent z ~ N(0, I), which
    /// `infer_sample` draws from a seed (version 2 only).
    public enum InputEncoding: UInt32 { case floats = 0, pixels = 1, gaussianLatent = 2 }
    static let dtypeFloat32: UInt32 = 1
    /// Largest k of a nearest-neighbour layer, and most classes of a vote or neighbour layer.
    public static let maxNeighbours = 1024
    public static let maxClasses = 1024
    /// Largest input of a local linear regression layer (its solve needs (d+1)² scratch).
    public static let maxLocalLinearDimension = 64

    /// Modes of the nearest-neighbour layer.
    public enum NeighbourModeCode: UInt32 { case classify = 1, regress = 2, kernelSmoothing = 3, localLinear = 4 }

    public static func activationCode(_ kind: ActivationKind) -> UInt32 {
        switch kind { case .relu: 1; case .elu: 2; case .sigmoid: 3; case .tanh: 4 }
    }

    public static func activation(code: UInt32) -> ActivationKind? {
        switch code { case 1: .relu; case 2: .elu; case 3: .sigmoid; case 4: .tanh; default: nil }
    }
}

/// Little-endian reads from raw bytes at any alignment, without bounds checks: callers check.
@inline(__always) func readU32(_ p: UnsafeRawPointer, _ offset: Int) -> UInt32 {
    UInt32(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt32.self))
}

@inline(__always) func readU64(_ p: UnsafeRawPointer, _ offset: Int) -> UInt64 {
    UInt64(littleEndian: p.loadUnaligned(fromByteOffset: offset, as: UInt64.self))
}
