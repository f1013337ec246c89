import Arena
import Graph
import LowLevel
import Training

/// Trains a DDPM's noise predictor (`DiffusionConfig`, `DiffusionNetwork`) on images of bytes,
/// scaled to x_0 in [−1, 1]: each sample of a batch gets a timestep t uniform in 1...T and noise
/// ε ~ N(0, I), the network sees x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε and t's embedding, and Adam
/// minimises the mean of ‖ε̂ − ε‖²/n. Each epoch is a fresh order drawn from the seed, the last
/// partial batch left out. With `config.average`, a moving average of the weights follows each
/// update; the model file is made from it. Everything lives in one arena; `trainEpoch` allocates
/// nothing.
public final class DiffusionTrainer {
    public let config: DiffusionConfig
    public let schedule: DiffusionSchedule
    public let network: DiffusionNetwork
    public let executor: GraphExecutor
    public let arena: ArenaAllocator
    private let adam: GraphAdamW
    public let trainingCount: Int
    public private(set) var steps = 0
    public private(set) var epochs = 0
    public var random: RandomGenerator
    private let order: UnsafeMutableBufferPointer<Int32>
    private let seed: UnsafeMutablePointer<Float>
    /// The parameters' moving averages (none when `config.average` is 0).
    private let average: WeightAverage
    public var averaged: [UnsafeMutableBufferPointer<Float>] { average.averaged }

    public var batchesPerEpoch: Int { trainingCount / config.batch }

    static func options(_ n: DiffusionNetwork, _ c: DiffusionConfig) -> PlanOptions {
        PlanOptions(.training, maxBatch: c.batch, seeds: [n.loss!])
    }

    /// Arena bytes a trainer needs for `count` training images.
    public static func arenaBytes(_ config: DiffusionConfig, trainingCount count: Int) throws(GraphError) -> Int {
        try arenaBytes(try DiffusionNetwork(config, loss: true), config, trainingCount: count)
    }

    private static func arenaBytes(_ n: DiffusionNetwork, _ config: DiffusionConfig, trainingCount count: Int) throws(GraphError) -> Int {
        try GraphExecutor.arenaBytes(graph: n.graph, options: options(n, config)) + GraphAdamW.stateBytes(n.graph)
            + ArenaAllocator.footprint(of: Int32.self, count: count) + ArenaAllocator.footprint(of: Float.self, count: config.batch)
            + WeightAverage.arenaBytes(n.graph, decay: config.average)
    }

    /// Initial weights from `config.seed`, PyTorch's defaults (`DefaultInitialisation`).
    public init(config: DiffusionConfig, trainingCount: Int) throws(GraphError) {
        if let problem = config.problem { throw GraphError(problem) }
        guard trainingCount >= config.batch else {
            throw GraphError("the training set has \(trainingCount) images, fewer than one batch of \(config.batch)")
        }
        self.config = config
        self.trainingCount = trainingCount
        schedule = DiffusionSchedule(config.schedule, steps: config.steps)
        network = try DiffusionNetwork(config, loss: true)
        let bytes = try Self.arenaBytes(network, config, trainingCount: trainingCount)
        do { arena = try ArenaAllocator(capacity: bytes) } catch { throw GraphError("cannot allocate the \(bytes)-byte arena: \(error)") }
        executor = try GraphExecutor(graph: network.graph, options: Self.options(network, config), arena: arena)
        adam = try GraphAdamW(executor, arena: arena) { _, _ in false }
        do {
            order = try arena.allocate(Int32.self, count: trainingCount)
            seed = try arena.allocateFloats(config.batch).baseAddress!
        } catch { throw GraphError("the arena was sized for the order: \(error)") }
        var random = RandomGenerator(seed: config.seed)
        for id in network.graph.parameters { DefaultInitialisation.fill(id, of: executor, random: &random) }
        self.random = RandomGenerator(seed: random.next())
        average = try WeightAverage(network.graph, executor: executor, arena: arena, decay: config.average, what: "U-Net")
    }

    /// Everything training changes, by name, in the trainer's own memory: the parameters with
    /// their Adam moments and moving averages.
    public var namedTensors: [(name: String, values: UnsafeMutableBufferPointer<Float>)] {
        adam.namedTensors + average.named(network.graph)
    }

    /// Sets the counters of a run restored from a checkpoint.
    public func resume(epochs: Int, steps: Int) {
        precondition(epochs >= 0 && steps >= 0)
        (self.epochs, self.steps) = (epochs, steps)
    }

    /// The parameters by name, what a model file is made from: their moving averages with
    /// `config.average`, else the last weights (`lastWeights`).
    public var weights: [String: [Float]] {
        guard !averaged.isEmpty else { return lastWeights }
        var weights: [String: [Float]] = [:]
        for (id, a) in zip(network.graph.parameters, averaged) { weights[network.graph.values[id.index].name] = Array(a) }
        return weights
    }

    /// The parameters by name as the last update left them.
    public var lastWeights: [String: [Float]] {
        var weights: [String: [Float]] = [:]
        for id in network.graph.parameters { weights[network.graph.values[id.index].name] = Array(executor.view(of: id)) }
        return weights
    }

    /// The mean ε-loss of the batch at `first` of the current order, with its gradients left in
    /// the executor; the timesteps and noise come from the trainer's generator.
    public func loss(_ pixels: UnsafeBufferPointer<UInt8>, first: Int) -> Float {
        let n = config.batch, size = config.pixels, e = config.embedding
        executor.rows = n
        let x = executor.view(of: network.noisy).baseAddress!, noise = executor.view(of: network.noise!).baseAddress!
        let time = executor.view(of: network.time).baseAddress!
        for b in 0..<n {
            let t = 1 + random.nextIndex(below: config.steps)
            let keep = Float(schedule.alphaBar[t].squareRoot()), add = Float((1 - schedule.alphaBar[t]).squareRoot())
            let source = pixels.baseAddress! + Int(order[first + b]) * size
            for p in 0..<size {
                let epsilon = random.nextGaussian()
                noise[b * size + p] = epsilon
                x[b * size + p] = keep * (Float(source[p]) * (2 / 255) - 1) + add * epsilon
            }
            DiffusionNetwork.timestepEmbedding(t, into: time + b * e, features: e)
        }
        executor.forward(training: true)
        let losses = executor.view(of: network.loss!)
        var total: Float = 0
        for i in 0..<n { total += losses[i] }
        for i in 0..<n { seed[i] = 1 / Float(n) }
        executor.backward(from: network.loss!, gradient: seed)
        return total / Float(n)
    }

    /// One epoch over the first `trainingCount` images of `pixels`; returns the mean ε-loss.
    /// - Throws: `TrainingError.nonFinite` as soon as a batch's loss is NaN or infinite.
    public func trainEpoch(pixels: UnsafeBufferPointer<UInt8>, progress: (Int, Int, Float) -> Void = { _, _, _ in }) throws(TrainingError) -> Float {
        precondition(pixels.count >= trainingCount * config.pixels, "fewer pixels than the training set's images")
        for i in order.indices { order[i] = Int32(i) }
        random.shuffle(order)
        let batch = config.batch
        let mean = try MinibatchEpoch.run(batches: batchesPerEpoch, epoch: epochs + 1, steps: &steps,
                                          loss: { loss(pixels, first: $0 * batch) },
                                          update: { steps in
                                              adam.update(rate: config.learningRate, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, step: steps)
                                              average.update(step: steps)
                                          },
                                          progress: progress)
        epochs += 1
        return mean
    }
}
