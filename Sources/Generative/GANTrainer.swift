import Glibc
import Arena
import Graph
import LowLevel
import Training

/// Trains a GAN (`GANConfig`) on images of bytes (pixels / 255): each epoch in a fresh order drawn
/// from the seed, one discriminator update per batch of real images (with as many generated
/// ones), and one generator update after every `discriminatorSteps` of them; the last partial
/// batch is left out. The generator's update runs its fake batch through the discriminator and
/// seeds the generator's backward with the discriminator's gradient with respect to its input.
/// With `.mmd` there is no discriminator: the generator's gradient is the kernel MMD²'s.
/// Everything lives in one arena; `trainEpoch` and `sample` allocate nothing.
public final class GANTrainer {
    public let config: GANConfig
    public let generatorGraph: GeneratorGraph
    public let discriminatorGraph: DiscriminatorGraph?
    public let generator: GraphExecutor
    public let discriminator: GraphExecutor?
    public let arena: ArenaAllocator
    private let generatorAdam: GraphAdamW
    private let discriminatorAdam: GraphAdamW?
    private let mmd: KernelMMD?
    public let trainingCount: Int
    public private(set) var generatorSteps = 0
    public private(set) var discriminatorUpdates = 0
    /// Epochs trained.
    public private(set) var epochs = 0
    public var random: RandomGenerator
    private let order: UnsafeMutableBufferPointer<Int32>
    /// ∂L/∂S for the discriminator's 2·batch rows.
    private let scoreGradient: UnsafeMutablePointer<Float>
    /// The Wasserstein critic's parameters, clipped after each update.
    private let clipped: [UnsafeMutableBufferPointer<Float>]
    /// The generator's parameters and their moving averages (`GANConfig.generatorAverage`; empty
    /// without).
    private let average: WeightAverage
    private var live: [UnsafeMutableBufferPointer<Float>] { average.live }
    public var averaged: [UnsafeMutableBufferPointer<Float>] { average.averaged }

    public var batchesPerEpoch: Int { trainingCount / config.batch }

    static func generatorOptions(_ g: GeneratorGraph, _ c: GANConfig) -> PlanOptions {
        PlanOptions(.training, maxBatch: c.batch, seeds: [g.image])
    }
    static func discriminatorOptions(_ d: DiscriminatorGraph, _ c: GANConfig) -> PlanOptions {
        PlanOptions(.training, maxBatch: 2 * c.batch, seeds: [d.score], gradients: [d.image])
    }

    /// Arena bytes a trainer needs for `count` training images.
    public static func arenaBytes(_ config: GANConfig, trainingCount count: Int) throws(GraphError) -> Int {
        let g = try GeneratorGraph(config)
        var bytes = try GraphExecutor.arenaBytes(graph: g.graph, options: generatorOptions(g, config)) + GraphAdamW.stateBytes(g.graph)
        if config.objective == .mmd {
            bytes += KernelMMD.arenaBytes(count: config.batch, dimension: config.pixels)
        } else {
            let d = try DiscriminatorGraph(config)
            bytes += try GraphExecutor.arenaBytes(graph: d.graph, options: discriminatorOptions(d, config)) + GraphAdamW.stateBytes(d.graph)
        }
        bytes += WeightAverage.arenaBytes(g.graph, decay: config.generatorAverage)
        return bytes + ArenaAllocator.footprint(of: Int32.self, count: count) + ArenaAllocator.footprint(of: Float.self, count: 2 * config.batch)
    }

    /// Initial weights from `config.seed`: every weight and bias uniform in ±1/√fan-in (PyTorch's
    /// `nn.Linear` default), the generator's first, then the discriminator's.
    public init(config: GANConfig, trainingCount: Int) throws(GraphError) {
        if let problem = config.problem { throw GraphError(problem) }
        guard trainingCount >= config.batch else {
            throw GraphError("the training set has \(trainingCount) images, fewer than one batch of \(config.batch)")
        }
        self.config = config
        self.trainingCount = trainingCount
        let bytes = try Self.arenaBytes(config, trainingCount: trainingCount)
        do { arena = try ArenaAllocator(capacity: bytes) } catch { throw GraphError("cannot allocate the \(bytes)-byte arena: \(error)") }
        generatorGraph = try GeneratorGraph(config)
        generator = try GraphExecutor(graph: generatorGraph.graph, options: Self.generatorOptions(generatorGraph, config), arena: arena)
        generatorAdam = try GraphAdamW(generator, arena: arena) { _, _ in false }
        if config.objective == .mmd {
            discriminatorGraph = nil
            discriminator = nil
            discriminatorAdam = nil
            clipped = []
            do { mmd = try KernelMMD(count: config.batch, dimension: config.pixels, widths: config.mmdWidths, arena: arena) }
            catch { throw GraphError("the arena was sized for the MMD buffers: \(error)") }
        } else {
            let d = try DiscriminatorGraph(config)
            discriminatorGraph = d
            let executor = try GraphExecutor(graph: d.graph, options: Self.discriminatorOptions(d, config), arena: arena)
            discriminator = executor
            discriminatorAdam = try GraphAdamW(executor, arena: arena) { _, _ in false }
            mmd = nil
            clipped = config.objective == .wasserstein ? d.graph.parameters.map { executor.view(of: $0) } : []
        }
        do {
            order = try arena.allocate(Int32.self, count: trainingCount)
            scoreGradient = try arena.allocateFloats(2 * config.batch).baseAddress!
        } catch { throw GraphError("the arena was sized for the order: \(error)") }
        for i in 0..<trainingCount { order[i] = Int32(i) }
        var random = RandomGenerator(seed: config.seed)
        for executor in [generator] + (discriminator.map { [$0] } ?? []) {
            let graph = executor.graph
            for id in graph.parameters {
                let name = graph.values[id.index].name, w = executor.view(of: id)
                // Batch norm starts as the identity: γ = 1, β = 0 (and running variance 1 below).
                if name.contains(".bn") {
                    w.update(repeating: name.hasSuffix(".weight") ? 1 : 0)
                    continue
                }
                let weightName = name.hasSuffix(".bias") ? String(name.dropLast(5)) + ".weight" : name
                let fanIn = graph.values.first { $0.name == weightName }?.type.shape.first ?? 1
                let bound = 1 / Float(fanIn).squareRoot()
                for i in w.indices { w[i] = bound * (2 * random.nextUniform() - 1) }
            }
            for id in graph.values(.state) where graph.values[id.index].name.hasSuffix(".running_var") {
                executor.view(of: id).update(repeating: 1)
            }
        }
        average = try WeightAverage(generatorGraph.graph, executor: generator, arena: arena, decay: config.generatorAverage, what: "generator")
        self.random = RandomGenerator(seed: random.next())
        if discriminatorGraph?.dropoutGenerator != nil {
            dropoutState = RandomGenerator(seed: self.random.next())
        }
    }

    /// Everything training changes, by name, in the trainer's own memory: both players'
    /// parameters with their Adam moments, the generator's batch-norm statistics
    /// ("state.<name>") and moving averages ("average.<name>").
    public var namedTensors: [(name: String, values: UnsafeMutableBufferPointer<Float>)] {
        var named = generatorAdam.namedTensors + (discriminatorAdam?.namedTensors ?? [])
        let graph = generatorGraph.graph
        for id in graph.values(.state) { named.append(("state." + graph.values[id.index].name, generator.view(of: id))) }
        return named + average.named(graph)
    }

    /// Sets the counters of a run restored from a checkpoint (its tensors and random states are
    /// set through `namedTensors`, `random` and `dropoutState`).
    public func resume(epochs: Int, generatorSteps: Int, discriminatorUpdates: Int) {
        precondition(epochs >= 0 && generatorSteps >= 0 && discriminatorUpdates >= 0)
        (self.epochs, self.generatorSteps, self.discriminatorUpdates) = (epochs, generatorSteps, discriminatorUpdates)
    }

    /// The generator's parameters and batch-norm running statistics by name, what a model file
    /// is made from: with `generatorAverage`, the averaged weights, with batch-norm statistics
    /// re-estimated for them (`averagedStatisticsBatches` batches drawn from a fixed seed; the
    /// trainer's state is left as it was).
    public var generatorWeights: [String: [Float]] {
        var weights: [String: [Float]] = [:]
        let graph = generatorGraph.graph
        let states = graph.values(.state)
        func read() { for id in graph.parameters + states { weights[graph.values[id.index].name] = Array(generator.view(of: id)) } }
        guard !averaged.isEmpty else {
            read()
            return weights
        }
        let saved = (live.map(Array.init), states.map { Array(generator.view(of: $0)) }, random)
        for (w, a) in zip(live, averaged) { _ = w.update(fromContentsOf: UnsafeBufferPointer(a)) }
        if !states.isEmpty {
            random = RandomGenerator(seed: config.seed ^ 0x5eed_a7e5)
            FloatingPointMode.withDenormalsFlushed {
                for _ in 0..<Self.averagedStatisticsBatches { generate(rows: config.batch) }
            }
        }
        read()
        for (w, v) in zip(live, saved.0) { _ = w.update(fromContentsOf: v) }
        for (id, v) in zip(states, saved.1) { _ = generator.view(of: id).update(fromContentsOf: v) }
        random = saved.2
        return weights
    }

    /// Forward batches that re-estimate the averaged generator's batch-norm statistics: with
    /// momentum 0.1, the trained statistics' weight falls to 0.9¹⁰⁰ ≈ 3·10⁻⁵.
    public static let averagedStatisticsBatches = 100

    /// The learning rate of update `step` (1-based) of `total`: constant, or with
    /// `learningRateDecay` lr·(total − step + 1)/total, 0 past the end.
    public func learningRate(update step: Int, of total: Int) -> Float {
        guard config.learningRateDecay, total > 0 else { return config.learningRate }
        return config.learningRate * Float(max(total - step + 1, 0)) / Float(total)
    }

    /// The discriminator's dropout generator (nil without dropout), which a resumed run continues.
    public var dropoutState: RandomGenerator? {
        get {
            guard let d = discriminator, let state = discriminatorGraph?.dropoutGenerator else { return nil }
            return UnsafeRawPointer(d.intView(of: state).baseAddress!).loadUnaligned(as: RandomGenerator.self)
        }
        set {
            guard let d = discriminator, let state = discriminatorGraph?.dropoutGenerator, let newValue else { return }
            withUnsafeBytes(of: newValue) { UnsafeMutableRawBufferPointer(d.intView(of: state)).copyMemory(from: $0) }
        }
    }

    /// Fills the generator's latent input with `rows` draws of N(0, I) and runs it.
    private func generate(rows: Int) {
        generator.rows = rows
        let z = generator.view(of: generatorGraph.latent)
        for i in 0..<(rows * config.latent) { z[i] = random.nextGaussian() }
        generator.forward(training: true)
    }

    /// Real images `order[first ..< first + batch]` as pixels / 255 into `target`.
    private func loadReal(_ pixels: UnsafeBufferPointer<UInt8>, first: Int, into target: UnsafeMutablePointer<Float>) {
        let size = config.pixels
        for b in 0..<config.batch {
            let source = pixels.baseAddress! + Int(order[first + b]) * size, row = target + b * size
            for p in 0..<size { row[p] = Float(source[p]) * (1 / 255) }
        }
    }

    /// The discriminator's loss on the real batch at `first` of the current order and a fresh
    /// generated batch, with its gradients left in the discriminator's executor (no update).
    /// 0 with MMD.
    public func discriminatorLoss(_ pixels: UnsafeBufferPointer<UInt8>, first: Int) -> Float {
        guard let d = discriminator, let graph = discriminatorGraph else { return 0 }
        let n = config.batch, size = config.pixels
        generate(rows: n)
        d.rows = 2 * n
        let x = d.view(of: graph.image).baseAddress!
        loadReal(pixels, first: first, into: x)
        (x + n * size).update(from: generator.view(of: generatorGraph.image).baseAddress!, count: n * size)
        d.forward(training: true)
        let s = d.view(of: graph.score).baseAddress!
        let loss = config.objective.discriminatorLoss(real: s, fake: s + n, count: n, realGradient: scoreGradient,
                                                      fakeGradient: scoreGradient + n)
        d.backward(from: graph.score, gradient: scoreGradient)
        return loss
    }

    /// One discriminator update on the real batch at `first` and a fresh generated batch.
    private func discriminatorStep(_ d: GraphExecutor, _ graph: DiscriminatorGraph, _ pixels: UnsafeBufferPointer<UInt8>, first: Int) -> Float {
        let loss = discriminatorLoss(pixels, first: first)
        discriminatorUpdates += 1
        discriminatorAdam!.update(rate: learningRate(update: discriminatorUpdates, of: config.epochs * batchesPerEpoch), beta1: config.beta1, beta2: config.beta2, epsilon: config.epsilon,
                                  weightDecay: 0, step: discriminatorUpdates)
        if config.objective == .wasserstein {
            let c = config.weightClip
            for w in clipped { for i in w.indices { w[i] = min(max(w[i], -c), c) } }
        }
        return loss
    }

    /// The generator's loss on a fresh generated batch (MMD: against the real batch at `first` of
    /// the current order), with its gradients left in the generator's executor (no update).
    public func generatorLoss(_ pixels: UnsafeBufferPointer<UInt8>, first: Int) -> Float {
        let n = config.batch, size = config.pixels
        generate(rows: n)
        let fake = generator.view(of: generatorGraph.image).baseAddress!
        let loss: Float, seed: UnsafePointer<Float>
        if let mmd {
            mmd.generated.update(from: fake, count: n * size)
            loadReal(pixels, first: first, into: mmd.real)
            loss = mmd.evaluate()
            seed = UnsafePointer(mmd.gradient)
        } else {
            let d = discriminator!, graph = discriminatorGraph!
            d.rows = n
            let x = d.view(of: graph.image).baseAddress!
            x.update(from: fake, count: n * size)
            d.forward(training: true)
            loss = config.objective.generatorLoss(fake: d.view(of: graph.score).baseAddress!, count: n, gradient: scoreGradient)
            d.backward(from: graph.score, gradient: scoreGradient)
            seed = UnsafePointer(d.gradient(of: graph.image).baseAddress!)
        }
        generator.backward(from: generatorGraph.image, gradient: seed)
        return loss
    }

    /// One generator update; `first` is the real batch MMD compares with.
    private func generatorStep(_ pixels: UnsafeBufferPointer<UInt8>, first: Int) -> Float {
        let loss = generatorLoss(pixels, first: first)
        generatorSteps += 1
        let updates = discriminator == nil ? batchesPerEpoch : batchesPerEpoch / config.discriminatorSteps
        generatorAdam.update(rate: learningRate(update: generatorSteps, of: config.epochs * updates), beta1: config.beta1, beta2: config.beta2,
                             epsilon: config.epsilon, weightDecay: 0, step: generatorSteps)
        average.update(step: generatorSteps)
        return loss
    }

    /// One epoch over the first `trainingCount` images of `pixels` (bytes, image after image).
    /// Returns the mean discriminator loss (0 for MMD) and the mean generator loss of the epoch.
    /// `progress` gets (batches done, of, running discriminator loss, running generator loss).
    /// - Throws: `TrainingError.nonFinite` as soon as either loss is NaN or infinite.
    public func trainEpoch(pixels: UnsafeBufferPointer<UInt8>,
                           progress: (Int, Int, Float, Float) -> Void = { _, _, _, _ in }) throws(TrainingError) -> (discriminator: Float, generator: Float) {
        precondition(pixels.count >= trainingCount * config.pixels, "fewer pixels than the training set's images")
        return try FloatingPointMode.withDenormalsFlushed { () throws(TrainingError) in
            // The epoch's order depends only on the random state (so a resumed run draws it too).
            for i in order.indices { order[i] = Int32(i) }
            random.shuffle(order)
            let batches = batchesPerEpoch, every = config.discriminatorSteps
            var dTotal: Float = 0, gTotal: Float = 0, dCount = 0, gCount = 0
            for b in 0..<batches {
                let first = b * config.batch
                if let d = discriminator, let graph = discriminatorGraph {
                    let loss = discriminatorStep(d, graph, pixels, first: first)
                    guard loss.isFinite else { throw .nonFinite(epoch: generatorSteps / max(batches / every, 1), step: discriminatorUpdates, loss: loss) }
                    dTotal += loss
                    dCount += 1
                }
                if discriminator == nil || (b + 1) % every == 0 {
                    let loss = generatorStep(pixels, first: first)
                    guard loss.isFinite else { throw .nonFinite(epoch: generatorSteps / max(batches / every, 1), step: generatorSteps, loss: loss) }
                    gTotal += loss
                    gCount += 1
                }
                progress(b + 1, batches, dTotal / Float(max(dCount, 1)), gTotal / Float(max(gCount, 1)))
            }
            epochs += 1
            return (dTotal / Float(max(dCount, 1)), gTotal / Float(max(gCount, 1)))
        }
    }
}
