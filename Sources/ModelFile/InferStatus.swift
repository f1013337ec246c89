/// Status codes of the C interface (include/infer.h), one per kind of failure.
public enum InferStatus: Int32, Error, Sendable {
    case ok = 0
    /// NULL pointer or impossible length.
    case argument = 1
    /// Not a model file, corrupt, or checksum mismatch.
    case format = 2
    /// Format version not supported.
    case version = 3
    /// Arena too small: ask `infer_arena_size`.
    case arena = 4
    /// File cannot be read.
    case io = 5
    /// Not a decodable PNG, or too large.
    case image = 6
    /// Input or output length does not match the model.
    case shape = 7

    public var summary: StaticString {
        switch self {
        case .ok: "ok"
        case .argument: "invalid argument (NULL pointer or impossible length)"
        case .format: "not a valid model file (corrupt, truncated or checksum mismatch)"
        case .version: "model format version not supported"
        case .arena: "arena too small (ask infer_arena_size)"
        case .io: "file cannot be read"
        case .image: "not a decodable PNG, or too large"
        case .shape: "input or output length does not match the model"
        }
    }
}
