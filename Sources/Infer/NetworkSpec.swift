import Arena

/// One layer of a network description.
public enum LayerSpec: Codable, Sendable, Equatable {
    case dense(outputs: Int)
    case activation(ActivationKind)

    /// Sizes of the trainable tensors this layer creates for `inputs` features in.
    func parameterCounts(inputs: Int) -> [Int] {
        switch self {
        case .dense(let outputs): [outputs * inputs, outputs]
        case .activation: []
        }
    }

    func outputCount(inputs: Int) -> Int {
        switch self {
        case .dense(let outputs): outputs
        case .activation: inputs
        }
    }
}

/// A feed-forward network: input width, layers in order, loss, and weight initialisation.
/// Saved in checkpoints and model files, so a network can be rebuilt from a file.
public struct NetworkSpec: Codable, Sendable, Equatable {
    public var inputCount: Int
    public var layers: [LayerSpec]
    public var loss: LossKind
    public var initializer: WeightInitializer

    public init(inputCount: Int, layers: [LayerSpec], loss: LossKind = .softmaxCrossEntropy,
                initializer: WeightInitializer = .he) {
        self.inputCount = inputCount
        self.layers = layers
        self.loss = loss
        self.initializer = initializer
    }

    /// A multilayer perceptron: Dense + activation per hidden width, then a Dense output layer.
    public static func mlp(inputs: Int, hidden: [Int], outputs: Int, activation: ActivationKind = .relu,
                           loss: LossKind = .softmaxCrossEntropy) -> NetworkSpec {
        var layers: [LayerSpec] = []
        for width in hidden { layers += [.dense(outputs: width), .activation(activation)] }
        layers.append(.dense(outputs: outputs))
        let initializer: WeightInitializer = (activation == .relu || activation == .elu) ? .he : .xavier
        return NetworkSpec(inputCount: inputs, layers: layers, loss: loss, initializer: initializer)
    }

    /// Width of the network's output.
    public var outputCount: Int {
        layers.reduce(inputCount) { $1.outputCount(inputs: $0) }
    }

    /// Why this description cannot be built, or nil when it can.
    public var problem: String? {
        if inputCount <= 0 { return "input width must be positive, not \(inputCount)" }
        if layers.isEmpty { return "a network needs at least one layer" }
        for (i, layer) in layers.enumerated() {
            if case .dense(let outputs) = layer, outputs <= 0 {
                return "layer \(i): a dense layer needs a positive width, not \(outputs)"
            }
        }
        if loss == .softmaxCrossEntropy && outputCount < 2 {
            return "softmax cross-entropy needs at least 2 outputs"
        }
        return nil
    }

    /// Number of trainable scalars.
    public var parameterCount: Int {
        var width = inputCount, total = 0
        for layer in layers {
            total += layer.parameterCounts(inputs: width).reduce(0, +)
            width = layer.outputCount(inputs: width)
        }
        return total
    }

    /// Exact arena bytes `Network(spec:maxBatch:arena:rng:)` takes: parameters and their gradients,
    /// the first layer's sparse-input scratch, and each layer's output and output-gradient buffers
    /// for `maxBatch` rows.
    public func arenaBytes(maxBatch: Int) -> Int {
        var width = inputCount, total = 0
        for (index, layer) in layers.enumerated() {
            switch layer {
            case .dense(let outputs):
                total += Dense.arenaBytes(inputs: width, outputs: outputs, sparseInput: index == 0 ? maxBatch : nil)
            case .activation:
                break
            }
            width = layer.outputCount(inputs: width)
            total += 2 * ArenaAllocator.footprint(of: Float.self, count: maxBatch * width)
        }
        return total
    }
}
