import LowLevel
import ModelFile
import Arena
import Graph

/// One layer of a network description.
public enum LayerSpec: Codable, Sendable, Equatable {
    case dense(outputs: Int)
    case activation(ActivationKind)
    case conv2d(Conv2DSpec)
    case maxPool2d(PoolSpec)
    case avgPool2d(PoolSpec)
    /// Average over each channel's whole plane: C×H×W → C×1×1.
    case globalAvgPool
    /// C×H×W → (C·H·W)×1×1; the memory layout does not change.
    case flatten
    /// Batch normalisation per channel (per feature after a dense layer).
    case batchNorm
    /// Inverted dropout with this drop probability, in training only.
    case dropout(rate: Float)

    /// The shape this layer produces from `input`, or nil when it cannot take that input.
    public func outputShape(input: Shape3) -> Shape3? {
        guard input.isValid else { return nil }
        switch self {
        case .dense(let outputs): return outputs > 0 ? .vector(outputs) : nil
        case .activation, .batchNorm: return input
        case .dropout(let rate): return rate >= 0 && rate < 1 ? input : nil
        case .conv2d(let spec): return spec.geometry(input: input)?.output
        case .maxPool2d(let spec), .avgPool2d(let spec): return spec.output(input: input)
        case .globalAvgPool: return Shape3(channels: input.channels, height: 1, width: 1)
        case .flatten: return .vector(input.count)
        }
    }

    /// Shapes of the trainable tensors this layer creates.
    public func parameterShapes(input: Shape3) -> [[Int]] {
        switch self {
        case .dense(let outputs): return [[input.count, outputs], [outputs]]
        case .conv2d(let spec): return [[spec.filters, input.channels, spec.kernelHeight, spec.kernelWidth], [spec.filters]]
        case .batchNorm: return [[input.channels], [input.channels]]
        default: return []
        }
    }

    /// Shapes of the layer's non-trainable state (`Layer.buffers`): batch norm's running mean and variance.
    public func bufferShapes(input: Shape3) -> [[Int]] {
        if case .batchNorm = self { return [[input.channels], [input.channels]] }
        return []
    }
}

/// A feed-forward network: input shape, layers in order, loss, and weight initialisation.
/// Saved in checkpoints and model files, so a network can be rebuilt from a file.
public struct NetworkSpec: Codable, Sendable, Equatable {
    public var inputShape: Shape3
    public var layers: [LayerSpec]
    public var loss: LossKind
    public var initializer: WeightInitializer

    public init(inputShape: Shape3, layers: [LayerSpec], loss: LossKind = .softmaxCrossEntropy,
                initializer: WeightInitializer = .he) {
        self.inputShape = inputShape
        self.layers = layers
        self.loss = loss
        self.initializer = initializer
    }

    /// A network on feature vectors of `inputCount` values.
    public init(inputCount: Int, layers: [LayerSpec], loss: LossKind = .softmaxCrossEntropy,
                initializer: WeightInitializer = .he) {
        self.init(inputShape: .vector(inputCount), layers: layers, loss: loss, initializer: initializer)
    }

    public var inputCount: Int { inputShape.count }

    /// A multilayer perceptron: Dense + activation per hidden width, then a Dense output layer.
    public static func mlp(inputs: Int, hidden: [Int], outputs: Int, activation: ActivationKind = .relu,
                           loss: LossKind = .softmaxCrossEntropy) -> NetworkSpec {
        var layers: [LayerSpec] = []
        for width in hidden { layers += [.dense(outputs: width), .activation(activation)] }
        layers.append(.dense(outputs: outputs))
        let initializer: WeightInitializer = (activation == .relu || activation == .elu) ? .he : .xavier
        return NetworkSpec(inputCount: inputs, layers: layers, loss: loss, initializer: initializer)
    }

    /// LeNet-5 for 28x28 digits: conv 6@5x5 pad 2, ReLU, max-pool 2; conv 16@5x5, ReLU, max-pool 2;
    /// dense 400→120→84→10.
    public static func lenet(classes: Int = 10) -> NetworkSpec {
        NetworkSpec(inputShape: Shape3(channels: 1, height: 28, width: 28), layers: [
            .conv2d(Conv2DSpec(filters: 6, kernel: (5, 5), padding: (2, 2))), .activation(.relu),
            .maxPool2d(PoolSpec(window: (2, 2))),
            .conv2d(Conv2DSpec(filters: 16, kernel: (5, 5))), .activation(.relu),
            .maxPool2d(PoolSpec(window: (2, 2))),
            .flatten,
            .dense(outputs: 120), .activation(.relu),
            .dense(outputs: 84), .activation(.relu),
            .dense(outputs: classes),
        ])
    }

    /// Each layer's input shape, then the output shape; nil if the layers do not fit together.
    public var shapes: [Shape3]? {
        var result = [inputShape]
        for layer in layers {
            guard let next = layer.outputShape(input: result.last!) else { return nil }
            result.append(next)
        }
        return result
    }

    /// Width of the network's output.
    public var outputCount: Int { shapes?.last?.count ?? 0 }

    /// Why this description cannot be built, or nil when it can.
    public var problem: String? {
        if !inputShape.isValid { return "input shape \(inputShape) is impossible" }
        if layers.isEmpty { return "a network needs at least one layer" }
        var shape = inputShape
        for (i, layer) in layers.enumerated() {
            guard let next = layer.outputShape(input: shape) else {
                return "layer \(i) (\(layer)) cannot take input of shape \(shape)"
            }
            shape = next
        }
        if loss == .softmaxCrossEntropy && shape.count < 2 {
            return "softmax cross-entropy needs at least 2 outputs"
        }
        if loss == .binaryCrossEntropy && shape.count != 1 {
            return "binary cross-entropy takes one output (a logit), not \(shape.count)"
        }
        return nil
    }

    /// Arena bytes of one float tensor per shape that `shapes` gives each layer (for its input
    /// shape): optimizer state per parameter, early stopping's copies of parameters and buffers.
    public func tensorBytes(_ shapes: (LayerSpec, Shape3) -> [[Int]]) -> Int {
        guard let inputs = self.shapes else { return 0 }
        return zip(layers, inputs).reduce(0) { total, pair in
            total + shapes(pair.0, pair.1).reduce(0) { $0 + ArenaAllocator.footprint(of: Float.self, count: $1.reduce(1, *)) }
        }
    }

    /// Number of trainable scalars.
    public var parameterCount: Int {
        guard let shapes else { return 0 }
        return zip(layers, shapes).reduce(0) { total, pair in
            total + pair.0.parameterShapes(input: pair.1).reduce(0) { $0 + $1.reduce(1, *) }
        }
    }

    /// Exact arena bytes `Network(spec:maxBatch:arena:rng:)` takes: the graph's planned block,
    /// the loss gradient for `maxBatch` rows, and a spare generator when there is no dropout.
    public func arenaBytes(maxBatch: Int) -> Int {
        guard problem == nil, let built = try? NetworkGraph(self),
              let plan = try? GraphExecutor.arenaBytes(graph: built.graph, options: built.trainingOptions(maxBatch: maxBatch)) else { return 0 }
        return plan + ArenaAllocator.footprint(of: Float.self, count: maxBatch * outputCount)
            + (built.generator == nil ? ArenaAllocator.footprint(of: RandomGenerator.self, count: 1) : 0)
    }
}
