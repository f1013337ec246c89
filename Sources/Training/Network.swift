import Arena
import ModelFile
import Graph
import LowLevel

/// A feed-forward network from a `NetworkSpec`, run as a graph (`NetworkGraph`) over one planned
/// block of arena memory for batches of up to `maxBatch` rows. `forward` and `computeGradients`
/// allocate nothing.
public final class Network {
    public let spec: NetworkSpec
    public let networkGraph: NetworkGraph
    public let executor: GraphExecutor
    /// Trainable tensors in checkpoint order: per layer, weight then bias.
    public let parameters: [Parameter]
    public let maxBatch: Int
    /// The arena every buffer lives in, kept alive as long as the network is.
    public let arena: ArenaAllocator
    /// dL/d(output) for the current batch, written by the loss.
    private let lossGradient: UnsafeMutableBufferPointer<Float>
    /// The generator dropout draws from: the graph's generator state, or a spare one in the arena
    /// when there is no dropout (checkpoints save it either way).
    public let dropoutRandom: UnsafeMutablePointer<RandomGenerator>
    /// Non-trainable state (batch norm's running statistics), for checkpoints.
    public let buffers: [(name: String, values: UnsafeMutableBufferPointer<Float>)]

    /// Builds the network of `spec`, drawing initial weights from `rng`.
    /// - Throws: `ArenaError.outOfMemory` when the arena has less than `spec.arenaBytes(maxBatch:)` left.
    /// - Precondition: `spec.problem == nil`, `maxBatch > 0`.
    public init(spec: NetworkSpec, maxBatch: Int, arena: ArenaAllocator, rng: inout RandomGenerator) throws(ArenaError) {
        precondition(spec.problem == nil, spec.problem ?? "")
        precondition(maxBatch > 0)
        let needed = spec.arenaBytes(maxBatch: maxBatch)
        guard needed <= arena.remaining else {
            throw .outOfMemory(requested: needed, remaining: arena.remaining, capacity: arena.capacity)
        }
        let built: NetworkGraph
        do { built = try NetworkGraph(spec) } catch { preconditionFailure("a valid spec gives a valid graph: \(error)") }
        self.spec = spec
        self.outputCount = spec.outputCount
        self.maxBatch = maxBatch
        self.arena = arena
        networkGraph = built
        lossGradient = try arena.allocateFloats(maxBatch * outputCount)
        do { executor = try GraphExecutor(graph: built.graph, options: built.trainingOptions(maxBatch: maxBatch), arena: arena) } catch {
            preconditionFailure("the arena holds the \(needed) bytes the network needs: \(error)")
        }
        if let generator = built.generator {
            dropoutRandom = UnsafeMutableRawPointer(executor.intView(of: generator).baseAddress!).bindMemory(to: RandomGenerator.self, capacity: 1)
        } else {
            dropoutRandom = try arena.allocate(RandomGenerator.self, count: 1).baseAddress!
        }
        dropoutRandom.initialize(to: RandomGenerator(seed: 0)) // seeded below, after the weights
        let graph = built.graph, executor = self.executor
        parameters = graph.parameters.map { id in
            let name = graph.values[id.index].name
            return Parameter(name: name, shape: graph.type(of: id).shape, value: executor.view(of: id),
                             gradient: executor.gradient(of: id), decays: Self.decays(name))
        }
        executor.setDecays { Self.decays(graph.values[$0.index].name) }
        buffers = graph.values(.state).filter { graph.type(of: $0).element == .float32 }.map {
            (graph.values[$0.index].name, executor.view(of: $0))
        }
        // Initial weights in layer order, as the layers always drew them; biases start at zero.
        let shapes = spec.shapes!
        for (index, layer) in spec.layers.enumerated() {
            guard let name = built.layerNames[index] else { continue }
            switch layer {
            case .dense(let units):
                spec.initializer.fill(tensor(named: "\(name).weight")!, fanIn: shapes[index].count, fanOut: units, rng: &rng)
            case .conv2d(let conv):
                let patch = shapes[index].channels * conv.kernelHeight * conv.kernelWidth
                spec.initializer.fill(tensor(named: "\(name).weight")!, fanIn: patch,
                                      fanOut: conv.filters * conv.kernelHeight * conv.kernelWidth, rng: &rng)
            case .batchNorm:
                tensor(named: "\(name).weight")!.update(repeating: 1)
                tensor(named: "\(name).running_var")!.update(repeating: 1)
            default: break
            }
        }
        // Drawn last, so adding dropout to a network leaves its initial weights unchanged.
        if built.generator != nil { dropoutRandom.pointee = RandomGenerator(seed: rng.next()) }
    }

    /// Whether weight decay applies to a parameter: convolution and dense weights yes, biases and
    /// batch norm's γ and β no.
    static func decays(_ name: String) -> Bool { name.hasSuffix(".weight") && !name.hasPrefix("batchnorm") }

    /// A parameter or state tensor by name ("dense0.weight", "batchnorm1.running_mean").
    public func tensor(named name: String) -> UnsafeMutableBufferPointer<Float>? {
        guard let id = networkGraph.graph.value(named: name), networkGraph.graph.values[id.index].role != .activation,
              networkGraph.graph.type(of: id).element == .float32 else { return nil }
        return executor.view(of: id)
    }

    public var inputCount: Int { spec.inputCount }
    /// Width of the output (kept: `spec.outputCount` derives every layer's shape).
    public let outputCount: Int

    /// Runs the network on `input` (`batch × inputCount`, batch ≤ maxBatch) and returns a view of
    /// its output, valid until the next call. The input is read where it is.
    @discardableResult
    public func forward(_ input: Matrix, training: Bool = false) -> Matrix {
        precondition(input.columns == inputCount && input.rows <= maxBatch && input.rows > 0,
                     "input \(input.rows)x\(input.columns) does not fit a network of \(inputCount) inputs, batch ≤ \(maxBatch)")
        executor.rows = input.rows
        executor.bind(networkGraph.input, to: input.base)
        executor.forward(training: training)
        return Matrix(executor.view(of: networkGraph.output), rows: input.rows, columns: outputCount)
    }

    /// Forward and backward on one batch: returns the mean loss and leaves dL/dθ in every
    /// parameter's `gradient`. Returns a non-finite value (and leaves gradients unspecified) when
    /// the forward pass produced NaN or infinity.
    public func computeGradients(input: Matrix, targets: Targets) -> Float {
        let output = forward(input, training: true)
        if !Kernels.allFinite(output.base, count: output.count) { return .nan }
        let gradient = Matrix(lossGradient, rows: input.rows, columns: outputCount)
        let loss = spec.loss.evaluate(output: output, targets: targets, gradient: gradient)
        if !loss.isFinite { return loss }
        executor.backward(from: networkGraph.output, gradient: gradient.base)
        return loss
    }

    /// Forward, backward and plain SGD (θ ← (1 − ηλ)θ − η·dL/dθ) on one batch, inside the
    /// backward pass (parameter gradients are then not all stored). Returns the batch's
    /// mean loss before the update. When the forward pass produced NaN or infinity, returns a
    /// non-finite value and leaves the weights unchanged.
    public func sgdStep(input: Matrix, targets: Targets, learningRate: Float, weightDecay: Float) -> Float {
        let output = forward(input, training: true)
        if !Kernels.allFinite(output.base, count: output.count) { return .nan }
        let gradient = Matrix(lossGradient, rows: input.rows, columns: outputCount)
        let loss = spec.loss.evaluate(output: output, targets: targets, gradient: gradient)
        if !loss.isFinite { return loss }
        // Each parameter is updated as soon as its gradient is complete; dense layers fold the
        // update into their weight-gradient product.
        executor.backward(from: networkGraph.output, gradient: gradient.base, sgd: learningRate, weightDecay: weightDecay)
        return loss
    }

    /// Mean loss on a batch without touching gradients; `training` selects batch statistics
    /// (batch norm) as in a training step.
    public func loss(input: Matrix, targets: Targets, training: Bool = false) -> Float {
        spec.loss.evaluate(output: forward(input, training: training), targets: targets, gradient: nil)
    }

    /// The layers, for logs: "dense(784→128) → relu → dense(128→10) (101770 parameters)".
    public var summary: String {
        var shape = spec.inputShape
        var parts: [String] = []
        for layer in spec.layers {
            let next = layer.outputShape(input: shape)!
            switch layer {
            case .dense: parts.append("Dense(\(shape.count)→\(next.count))")
            case .activation(let kind): parts.append(kind.rawValue)
            case .conv2d(let c): parts.append("Conv2D(\(shape)→\(next), \(c.kernelHeight)x\(c.kernelWidth)/\(c.strideY)x\(c.strideX))")
            case .maxPool2d(let p): parts.append("MaxPool(\(p.windowHeight)x\(p.windowWidth)/\(p.strideY)x\(p.strideX), \(shape)→\(next))")
            case .avgPool2d(let p): parts.append("AvgPool(\(p.windowHeight)x\(p.windowWidth)/\(p.strideY)x\(p.strideX), \(shape)→\(next))")
            case .globalAvgPool: parts.append("GlobalAvgPool(\(shape)→\(next))")
            case .flatten: parts.append("Flatten(\(shape.count))")
            case .batchNorm: parts.append("BatchNorm(\(shape))")
            case .dropout(let rate): parts.append("Dropout(\(rate))")
            }
            shape = next
        }
        return parts.joined(separator: " → ") + " (\(spec.parameterCount) parameters)"
    }
}
