import ModelFile
/// One trainable tensor and its gradient, both in arena memory.
public final class Parameter {
    /// Stable name used in checkpoints and model files, e.g. "dense0.weight".
    public let name: String
    /// Logical shape, outermost first (a dense weight is [inputs, outputs]).
    public let shape: [Int]
    public let value: UnsafeMutableBufferPointer<Float>
    /// Written by the layer's backward pass (overwritten, not accumulated).
    public let gradient: UnsafeMutableBufferPointer<Float>
    /// Whether L2 weight decay applies (weights yes, biases no).
    public let decays: Bool

    public init(name: String, shape: [Int], value: UnsafeMutableBufferPointer<Float>,
                gradient: UnsafeMutableBufferPointer<Float>, decays: Bool) {
        precondition(value.count == shape.reduce(1, *) && gradient.count == value.count)
        self.name = name
        self.shape = shape
        self.value = value
        self.gradient = gradient
        self.decays = decays
    }

    public var count: Int { value.count }
}
