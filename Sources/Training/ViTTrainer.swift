import Glibc
import Arena
import Graph
import LowLevel

/// How a vision transformer trains: AdamW (β = (0.9, 0.999); weight decay on the weights of rank 2
/// or more except the positions), a linear warm-up then a cosine decay over every update of every
/// epoch, and gradients clipped to global norm 1.
public struct ViTTrainingConfig: Codable, Sendable, Equatable {
    public var epochs = 5
    public var batch = 64
    public var learningRate: Float = 1e-3
    public var minimumLearningRate: Float = 1e-5
    public var warmup = 200
    public var weightDecay: Float = 0.05
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var clip: Float = 1
    public var seed: UInt64 = 42

    public init() {}

    /// The rate at update `step` (0-based) of `total`: linear warm-up, then a cosine to the minimum.
    public func rate(at step: Int, of total: Int) -> Float {
        warmupCosineRate(at: step, of: total, warmup: warmup, peak: learningRate, floor: minimumLearningRate)
    }
}

/// Trains a `ViTGraph` on images of bytes (pixels / 255) with integer labels: each epoch in a
/// fresh order drawn from the seed, one AdamW update per batch (the last batch may be smaller).
/// Everything lives in one arena; `trainEpoch` and `accuracy` allocate nothing.
public final class ViTTrainer {
    public let vit: ViTGraph
    public let config: ViTTrainingConfig
    public let executor: GraphExecutor
    public let arena: ArenaAllocator
    private let optimizer: GraphAdamW
    /// The training set's size, which fixes the number of updates of the schedule.
    public let trainingCount: Int
    public private(set) var steps = 0
    public var random: RandomGenerator
    /// The current epoch's order of the training images.
    private let order: UnsafeMutableBufferPointer<Int32>
    /// The indices of one evaluation batch.
    private let evaluationIndices: UnsafeMutableBufferPointer<Int32>

    public var totalSteps: Int { config.epochs * ((trainingCount + config.batch - 1) / config.batch) }

    static func options(_ vit: ViTGraph, _ config: ViTTrainingConfig) -> PlanOptions {
        PlanOptions(.training, maxBatch: config.batch, seeds: [vit.loss])
    }

    /// Arena bytes a trainer needs for `count` training images.
    public static func arenaBytes(_ vit: ViTGraph, _ config: ViTTrainingConfig, trainingCount count: Int) throws(GraphError) -> Int {
        try GraphExecutor.arenaBytes(graph: vit.graph, options: options(vit, config)) + GraphAdamW.stateBytes(vit.graph)
            + ArenaAllocator.footprint(of: Int32.self, count: count) + ArenaAllocator.footprint(of: Int32.self, count: config.batch)
    }

    /// Initial weights from `config.seed`: normal(0, 0.02) for the patch embedding, positions and
    /// linear weights, zero biases, layer norms γ = 1, β = 0.
    public init(vit: ViTGraph, config: ViTTrainingConfig, trainingCount: Int) throws(GraphError) {
        guard config.batch >= 1, config.epochs >= 0, trainingCount >= 1 else {
            throw GraphError("batch and the training set must have at least 1 image, epochs 0 or more")
        }
        self.vit = vit
        self.config = config
        self.trainingCount = trainingCount
        let bytes = try Self.arenaBytes(vit, config, trainingCount: trainingCount)
        do { arena = try ArenaAllocator(capacity: bytes) } catch { throw GraphError("cannot allocate the \(bytes)-byte arena: \(error)") }
        executor = try GraphExecutor(graph: vit.graph, options: Self.options(vit, config), arena: arena)
        var random = RandomGenerator(seed: config.seed)
        let graph = vit.graph
        for id in graph.parameters {
            let name = graph.values[id.index].name, w = executor.view(of: id)
            if name.hasSuffix(".bias") {
                w.update(repeating: 0)
            } else if name.contains(".ln_") || name.hasPrefix("transformer.ln_f") {
                w.update(repeating: 1)
            } else {
                for i in w.indices { w[i] = 0.02 * random.nextGaussian() }
            }
        }
        optimizer = try GraphAdamW(executor, arena: arena) { name, shape in shape.count >= 2 && name != "transformer.wpe.weight" }
        do {
            order = try arena.allocate(Int32.self, count: trainingCount)
            evaluationIndices = try arena.allocate(Int32.self, count: config.batch)
        } catch { throw GraphError("the arena was sized for the orders: \(error)") }
        for i in 0..<trainingCount { order[i] = Int32(i) }
        if let generator = vit.generator {
            let state = RandomGenerator(seed: random.next()), target = UnsafeMutableRawBufferPointer(executor.intView(of: generator))
            withUnsafeBytes(of: state) { target.copyMemory(from: $0) }
        }
        self.random = RandomGenerator(seed: random.next())
    }

    /// Parameters and AdamW moments by name (checkpoints, model files).
    public var namedTensors: [(name: String, values: UnsafeMutableBufferPointer<Float>)] { optimizer.namedTensors }

    /// Writes images `indices` (pixels / 255) and their labels into the executor's inputs.
    private func load(_ pixels: UnsafeBufferPointer<UInt8>, _ labels: UnsafeBufferPointer<UInt8>, _ indices: UnsafeBufferPointer<Int32>) {
        let size = vit.config.channels * vit.config.height * vit.config.width
        let x = executor.view(of: vit.images), y = executor.intView(of: vit.labels)
        for (b, index) in indices.enumerated() {
            let source = pixels.baseAddress! + Int(index) * size, target = x.baseAddress! + b * size
            for p in 0..<size { target[p] = Float(source[p]) * (1 / 255) }
            y[b] = Int32(labels[Int(index)])
        }
    }

    /// One epoch over the first `trainingCount` images of `pixels` (bytes, image after image) and
    /// `labels`; returns the mean training loss and the training accuracy of the batches as
    /// trained. `progress` gets (updates done in this epoch, of, running loss).
    /// - Throws: `TrainingError.nonFinite` when a loss is NaN or infinite.
    public func trainEpoch(pixels: UnsafeBufferPointer<UInt8>, labels: UnsafeBufferPointer<UInt8>,
                           progress: (Int, Int, Float) -> Void = { _, _, _ in }) throws(TrainingError) -> (loss: Float, accuracy: Float) {
        try FloatingPointMode.withDenormalsFlushed { () throws(TrainingError) in
            for i in stride(from: trainingCount - 1, to: 0, by: -1) { order.swapAt(i, random.nextIndex(below: i + 1)) }
            let batches = (trainingCount + config.batch - 1) / config.batch, classes = vit.config.classes
            var total: Float = 0, correct = 0
            for b in 0..<batches {
                let first = b * config.batch, rows = min(config.batch, trainingCount - first)
                executor.rows = rows
                load(pixels, labels, UnsafeBufferPointer(rebasing: order[first..<(first + rows)]))
                executor.forward(training: true)
                let loss = executor.view(of: vit.loss)[0]
                guard loss.isFinite else { throw .nonFinite(epoch: steps / batches, step: steps, loss: loss) }
                let logits = executor.view(of: vit.logits).baseAddress!, y = executor.intView(of: vit.labels)
                for r in 0..<rows where Kernels.argmax(logits + r * classes, count: classes) == Int(y[r]) { correct += 1 }
                total += loss * Float(rows)
                executor.backward(from: vit.loss)
                optimizer.clipGradients(to: config.clip)
                let rate = config.rate(at: steps, of: totalSteps)
                steps += 1
                optimizer.update(rate: rate, beta1: config.beta1, beta2: config.beta2, epsilon: config.epsilon,
                                 weightDecay: config.weightDecay, step: steps)
                progress(b + 1, batches, total / Float(first + rows))
            }
            executor.rows = config.batch
            return (total / Float(trainingCount), Float(correct) / Float(trainingCount))
        }
    }

    /// The fraction of `count` images classified correctly, in batches, without dropout.
    public func accuracy(pixels: UnsafeBufferPointer<UInt8>, labels: UnsafeBufferPointer<UInt8>, count: Int) -> Float {
        let classes = vit.config.classes
        var correct = 0, first = 0
        while first < count {
            let rows = min(config.batch, count - first)
            for r in 0..<rows { evaluationIndices[r] = Int32(first + r) }
            executor.rows = rows
            load(pixels, labels, UnsafeBufferPointer(rebasing: evaluationIndices[0..<rows]))
            executor.forward(training: false)
            let logits = executor.view(of: vit.logits).baseAddress!
            for r in 0..<rows where Kernels.argmax(logits + r * classes, count: classes) == Int(labels[first + r]) { correct += 1 }
            first += rows
        }
        executor.rows = config.batch
        return Float(correct) / Float(max(count, 1))
    }
}
