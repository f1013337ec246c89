import Arena
import LowLevel

/// A sequential network with every buffer it needs for batches of up to `maxBatch` rows allocated
/// from one arena at construction. `forward` and `computeGradients` allocate nothing.
public final class Network {
    public let spec: NetworkSpec
    public let layers: [any Layer]
    public let parameters: [Parameter]
    public let maxBatch: Int
    /// The arena every buffer lives in, kept alive as long as the network is.
    public let arena: ArenaAllocator
    /// outputs[i]: layer i's output for the current batch.
    private let outputs: [UnsafeMutableBufferPointer<Float>]
    /// outputGradients[i]: dL/d(outputs[i]).
    private let outputGradients: [UnsafeMutableBufferPointer<Float>]

    /// fused[i]: layer i is a ReLU run inside its neighbours (`NetworkSpec.reluIsFused`), skipped here.
    private let fused: [Bool]

    /// The generator dropout layers draw from (in the arena; checkpoints save its state).
    public let dropoutRandom: UnsafeMutablePointer<RandomGenerator>

    /// Builds the layers of `spec`, drawing initial weights from `rng`.
    /// - Throws: `ArenaError.outOfMemory` when the arena has less than `spec.arenaBytes(maxBatch:)` left.
    /// - Precondition: `spec.problem == nil`, `maxBatch > 0`.
    public init(spec: NetworkSpec, maxBatch: Int, arena: ArenaAllocator, rng: inout RandomGenerator) throws(ArenaError) {
        precondition(spec.problem == nil, spec.problem ?? "")
        precondition(maxBatch > 0)
        BLAS.configure(threads: BLAS.threads)
        self.spec = spec
        self.maxBatch = maxBatch
        self.arena = arena
        let shapes = spec.shapes!
        let fused = spec.layers.indices.map { spec.reluIsFused(at: $0, shapes: shapes) }
        dropoutRandom = try arena.allocate(RandomGenerator.self, count: 1).baseAddress!
        dropoutRandom.initialize(to: RandomGenerator(seed: 0)) // seeded below, after the weights
        var layers: [any Layer] = []
        var outputs: [UnsafeMutableBufferPointer<Float>] = []
        var outputGradients: [UnsafeMutableBufferPointer<Float>] = []
        var counters: [String: Int] = [:]
        func name(_ kind: String) -> String {
            let index = counters[kind, default: 0]
            counters[kind] = index + 1
            return "\(kind)\(index)"
        }
        for (index, layerSpec) in spec.layers.enumerated() {
            let input = shapes[index]
            let layer: any Layer
            switch layerSpec {
            case .dense(let units):
                // The first layer reads the data itself, which may be sparse (image backgrounds).
                layer = try Dense(inputs: input.count, outputs: units, name: name("dense"),
                                  initializer: spec.initializer, rng: &rng, arena: arena,
                                  sparseInput: layers.isEmpty ? maxBatch : nil)
            case .activation(let kind):
                layer = Activation(kind, count: input.count)
            case .conv2d(let conv):
                layer = try Conv2D(geometry: conv.geometry(input: input)!, name: name("conv"), initializer: spec.initializer,
                                   rng: &rng, arena: arena, maxBatch: maxBatch)
            case .maxPool2d(let pool):
                layer = try Pool2D(.max, spec: pool, input: input, arena: arena, maxBatch: maxBatch)
            case .avgPool2d(let pool):
                layer = try Pool2D(.average, spec: pool, input: input, arena: arena, maxBatch: maxBatch)
            case .globalAvgPool:
                layer = try Pool2D(.average, spec: PoolSpec(window: (input.height, input.width)), input: input,
                                   arena: arena, maxBatch: maxBatch)
            case .flatten:
                layer = Flatten(count: input.count)
            case .batchNorm:
                layer = try BatchNorm(shape: input, name: name("batchnorm"), arena: arena)
            case .dropout(let rate):
                layer = try Dropout(rate: rate, count: input.count, maxBatch: maxBatch, random: dropoutRandom, arena: arena)
            }
            layers.append(layer)
            if fused[index] {
                // Runs inside its neighbours: the convolution's output is the ReLU's, and the pool's
                // input gradient goes straight to the convolution.
                (layers[index - 1] as! Conv2D).appliesReLU = true
                outputs.append(outputs[index - 1])
                outputGradients.append(outputGradients[index - 1])
            } else {
                outputs.append(try arena.allocateFloats(maxBatch * layer.outputCount))
                outputGradients.append(try arena.allocateFloats(maxBatch * layer.outputCount))
            }
            if index > 0, fused[index - 1] { (layer as! Pool2D).routesOnlyToPositiveInputs = true }
        }
        self.fused = fused
        self.layers = layers
        self.outputs = outputs
        self.outputGradients = outputGradients
        self.parameters = layers.flatMap(\.parameters)
        // Drawn last, so adding dropout to a network leaves its initial weights unchanged.
        if spec.layers.contains(where: { if case .dropout = $0 { true } else { false } }) {
            dropoutRandom.pointee = RandomGenerator(seed: rng.next())
        }
    }

    /// Non-trainable state of all layers (batch norm running statistics), for checkpoints.
    public var buffers: [(name: String, values: UnsafeMutableBufferPointer<Float>)] { layers.flatMap(\.buffers) }

    public var inputCount: Int { spec.inputCount }
    public var outputCount: Int { layers.last!.outputCount }

    /// Runs the network on `input` (`batch × inputCount`, batch ≤ maxBatch) and returns a view of
    /// its output, valid until the next call.
    @discardableResult
    public func forward(_ input: Matrix, training: Bool = false) -> Matrix {
        precondition(input.columns == inputCount && input.rows <= maxBatch && input.rows > 0,
                     "input \(input.rows)x\(input.columns) does not fit a network of \(inputCount) inputs, batch ≤ \(maxBatch)")
        var x = input
        for i in layers.indices where !fused[i] {
            let y = Matrix(outputs[i], rows: input.rows, columns: layers[i].outputCount)
            layers[i].forward(x, into: y, training: training)
            x = y
        }
        return x
    }

    /// Forward and backward on one batch: returns the mean loss and leaves dL/dθ in every
    /// parameter's `gradient`. Returns a non-finite value (and leaves gradients unspecified) when
    /// the forward pass produced NaN or infinity.
    public func computeGradients(input: Matrix, targets: Targets) -> Float {
        trainStep(input: input, targets: targets, sgd: nil)
    }

    /// Forward and backward on one batch, applying plain SGD (θ ← (1 − ηλ)θ − η·dL/dθ) inside the
    /// backward pass. Returns the batch's mean loss before the update. When the forward pass
    /// produced NaN or infinity, returns a non-finite value and leaves the weights unchanged.
    public func sgdStep(input: Matrix, targets: Targets, learningRate: Float, weightDecay: Float) -> Float {
        trainStep(input: input, targets: targets, sgd: (learningRate, weightDecay))
    }

    private func trainStep(input: Matrix, targets: Targets, sgd: (rate: Float, decay: Float)?) -> Float {
        let output = forward(input, training: true)
        if !Kernels.allFinite(output.base, count: output.count) { return .nan }
        let last = layers.count - 1
        let lossGradient = Matrix(outputGradients[last], rows: input.rows, columns: output.columns)
        let loss = spec.loss.evaluate(output: output, targets: targets, gradient: lossGradient)
        if !loss.isFinite { return loss }
        let rows = input.rows
        for i in stride(from: last, through: 0, by: -1) where !fused[i] {
            let x = i == 0 ? input : Matrix(outputs[i - 1], rows: rows, columns: layers[i].inputCount)
            let y = Matrix(outputs[i], rows: rows, columns: layers[i].outputCount)
            let dy = Matrix(outputGradients[i], rows: rows, columns: layers[i].outputCount)
            let dx: Matrix? = i == 0 ? nil : Matrix(outputGradients[i - 1], rows: rows, columns: layers[i].inputCount)
            if let sgd {
                layers[i].backwardApplyingSGD(input: x, output: y, outputGradient: dy, inputGradient: dx,
                                              learningRate: sgd.rate, weightDecay: sgd.decay)
            } else {
                layers[i].backward(input: x, output: y, outputGradient: dy, inputGradient: dx)
            }
        }
        return loss
    }

    /// Mean loss on a batch without touching gradients; `training` selects batch statistics
    /// (batch norm) as in a training step.
    public func loss(input: Matrix, targets: Targets, training: Bool = false) -> Float {
        spec.loss.evaluate(output: forward(input, training: training), targets: targets, gradient: nil)
    }

    /// One line per layer, for logs.
    public var summary: String {
        layers.map(\.summary).joined(separator: " → ") + " (\(spec.parameterCount) parameters)"
    }
}
