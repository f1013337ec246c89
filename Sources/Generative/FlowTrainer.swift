import Glibc
import Arena
import Graph
import LowLevel
import Training

/// Trains a RealNVP flow (`FlowConfig`) by maximum likelihood on images of bytes: each batch
/// dequantised as x = (pixel + u)/256 with u ~ U[0, 1) drawn from the trainer's generator, the
/// mean negative log-density minimised by Adam; each epoch in a fresh order drawn from the seed,
/// the last partial batch left out. Everything lives in one arena; `trainEpoch` and `evaluate`
/// allocate nothing.
public final class FlowTrainer {
    public let config: FlowConfig
    public let density: FlowDensityGraph
    public let executor: GraphExecutor
    public let arena: ArenaAllocator
    private let adam: GraphAdamW
    public let trainingCount: Int
    public private(set) var steps = 0
    /// Epochs trained.
    public private(set) var epochs = 0
    public var random: RandomGenerator
    private let order: UnsafeMutableBufferPointer<Int32>
    /// ∂L/∂nll for each row of a batch: 1/batch.
    private let seed: UnsafeMutablePointer<Float>

    public var batchesPerEpoch: Int { trainingCount / config.batch }

    static func options(_ d: FlowDensityGraph, _ c: FlowConfig) -> PlanOptions {
        PlanOptions(.training, maxBatch: c.batch, seeds: [d.nll], keep: [d.latent])
    }

    /// Arena bytes a trainer needs for `count` training images.
    public static func arenaBytes(_ config: FlowConfig, trainingCount count: Int) throws(GraphError) -> Int {
        try arenaBytes(try FlowDensityGraph(config), config, trainingCount: count)
    }

    private static func arenaBytes(_ d: FlowDensityGraph, _ config: FlowConfig, trainingCount count: Int) throws(GraphError) -> Int {
        try GraphExecutor.arenaBytes(graph: d.graph, options: options(d, config)) + GraphAdamW.stateBytes(d.graph)
            + ArenaAllocator.footprint(of: Int32.self, count: count) + ArenaAllocator.footprint(of: Float.self, count: config.batch)
    }

    /// Initial weights from `config.seed`: hidden convolutions uniform in ±1/√fan-in (PyTorch's
    /// default), the s and t convolutions zero and each scale 1, so the flow starts as the logit alone.
    public init(config: FlowConfig, trainingCount: Int) throws(GraphError) {
        if let problem = config.problem { throw GraphError(problem) }
        guard trainingCount >= config.batch else {
            throw GraphError("the training set has \(trainingCount) images, fewer than one batch of \(config.batch)")
        }
        self.config = config
        self.trainingCount = trainingCount
        density = try FlowDensityGraph(config)
        let bytes = try Self.arenaBytes(density, config, trainingCount: trainingCount)
        do { arena = try ArenaAllocator(capacity: bytes) } catch { throw GraphError("cannot allocate the \(bytes)-byte arena: \(error)") }
        executor = try GraphExecutor(graph: density.graph, options: Self.options(density, config), arena: arena)
        adam = try GraphAdamW(executor, arena: arena) { _, _ in false }
        do {
            order = try arena.allocate(Int32.self, count: trainingCount)
            seed = try arena.allocateFloats(config.batch).baseAddress!
        } catch { throw GraphError("the arena was sized for the order: \(error)") }
        for i in 0..<trainingCount { order[i] = Int32(i) }
        var random = RandomGenerator(seed: config.seed)
        let graph = density.graph
        for id in graph.parameters {
            let name = graph.values[id.index].name, w = executor.view(of: id)
            if name.hasSuffix(".scale") { w.update(repeating: 1); continue }
            if name.hasPrefix("flow.affine.") { w.update(repeating: 0); continue }
            if name.contains(".log_scale.") || name.contains(".shift.") { w.update(repeating: 0); continue }
            DefaultInitialisation.fill(id, of: executor, random: &random)
        }
        for (id, mask) in Self.masks(graph, config) { _ = executor.view(of: id).update(fromContentsOf: mask) }
        self.random = RandomGenerator(seed: random.next())
    }

    /// Images that set the initial per-position affine map.
    public static let affineInitialisationImages = 1000

    /// Sets the per-position affine map so the logits of the first `affineInitialisationImages`
    /// training images (dequantised with noise from the seed) have mean 0 and variance 1 at
    /// every position: a = −log σ, b = −μ/σ. Call once, before the first epoch.
    public func initialiseAffine(pixels: UnsafeBufferPointer<UInt8>) {
        let graph = density.graph
        guard let a = graph.value(named: "flow.affine.log_scale"), let b = graph.value(named: "flow.affine.shift") else { return }
        let n = min(trainingCount, Self.affineInitialisationImages), size = config.pixels, alpha = Double(config.alpha)
        var noise = RandomGenerator(seed: config.seed ^ 0xaff1_4e)
        var sums = [Double](repeating: 0, count: size), squares = sums
        for i in 0..<n {
            for p in 0..<size {
                let x = (Double(pixels[i * size + p]) + Double(noise.nextUniform())) / 256
                let q = alpha + (1 - 2 * alpha) * x, y = Glibc.log(q / (1 - q))
                sums[p] += y
                squares[p] += y * y
            }
        }
        let scale = executor.view(of: a), shift = executor.view(of: b)
        for p in 0..<size {
            let mean = sums[p] / Double(n), variance = max(squares[p] / Double(n) - mean * mean, 1e-4)
            let sigma = variance.squareRoot()
            scale[p] = Float(-Glibc.log(sigma))
            shift[p] = Float(-mean / sigma)
        }
    }

    /// Every mask state of a flow graph (`flow.couplingK.mask` and `.free`) with its values.
    public static func masks(_ graph: Graph, _ config: FlowConfig) -> [(ValueID, [Float])] {
        graph.values(.state).compactMap { id in
            let name = graph.values[id.index].name
            guard name.hasPrefix("flow.coupling"), let k = Int(name.dropFirst("flow.coupling".count).prefix { $0.isNumber }) else { return nil }
            let mask = FlowCoupling.mask(coupling: k, config)
            if name.hasSuffix(".mask") { return (id, mask) }
            if name.hasSuffix(".free") { return (id, mask.map { 1 - $0 }) }
            return nil
        }
    }

    /// Everything training changes, by name, in the trainer's own memory: the parameters with
    /// their Adam moments.
    public var namedTensors: [(name: String, values: UnsafeMutableBufferPointer<Float>)] { adam.namedTensors }

    /// Sets the counters of a run restored from a checkpoint.
    public func resume(epochs: Int, steps: Int) {
        precondition(epochs >= 0 && steps >= 0)
        (self.epochs, self.steps) = (epochs, steps)
    }

    /// The parameters and the mask states by name, what a model file is made from.
    public var weights: [String: [Float]] {
        var weights: [String: [Float]] = [:]
        let graph = density.graph
        for id in graph.parameters + graph.values(.state) { weights[graph.values[id.index].name] = Array(executor.view(of: id)) }
        return weights
    }

    /// Bits per dimension of a negative log-density in nats over [0, 1]^n: the standard figure
    /// for pixels in [0, 256), (nll + n·ln 256)/(n·ln 2).
    public static func bitsPerDimension(nll: Double, pixels n: Int) -> Double {
        (nll + Double(n) * Glibc.log(256)) / (Double(n) * Glibc.log(2))
    }

    /// Dequantised images `indices` (rows of `pixels`) into the density graph's input.
    private func load(_ pixels: UnsafeBufferPointer<UInt8>, rows: Int, index: (Int) -> Int, noise: inout RandomGenerator) {
        let size = config.pixels
        let x = executor.view(of: density.image).baseAddress!
        for b in 0..<rows {
            let source = pixels.baseAddress! + index(b) * size, row = x + b * size
            for p in 0..<size { row[p] = (Float(source[p]) + noise.nextUniform()) * (1 / 256) }
        }
    }

    /// The mean negative log-density (nats) of the batch at `first` of the current order, with its
    /// gradients left in the executor (no update).
    public func loss(_ pixels: UnsafeBufferPointer<UInt8>, first: Int) -> Float {
        let n = config.batch
        executor.rows = n
        load(pixels, rows: n, index: { Int(self.order[first + $0]) }, noise: &random)
        executor.forward(training: true)
        let nll = executor.view(of: density.nll)
        var total: Float = 0
        for i in 0..<n { total += nll[i] }
        for i in 0..<n { seed[i] = 1 / Float(n) }
        executor.backward(from: density.nll, gradient: seed)
        return total / Float(n)
    }

    /// One epoch over the first `trainingCount` images of `pixels` (bytes, image after image);
    /// returns the mean negative log-density in nats. `progress` gets (batches done, of, running mean).
    /// - Throws: `TrainingError.nonFinite` as soon as a batch's loss is NaN or infinite.
    public func trainEpoch(pixels: UnsafeBufferPointer<UInt8>, progress: (Int, Int, Float) -> Void = { _, _, _ in }) throws(TrainingError) -> Float {
        precondition(pixels.count >= trainingCount * config.pixels, "fewer pixels than the training set's images")
        for i in order.indices { order[i] = Int32(i) }
        random.shuffle(order)
        let batch = config.batch
        let mean = try MinibatchEpoch.run(batches: batchesPerEpoch, epoch: epochs + 1, steps: &steps,
                                          loss: { loss(pixels, first: $0 * batch) },
                                          update: { steps in adam.update(rate: config.learningRate, beta1: config.beta1, beta2: config.beta2, epsilon: config.epsilon, weightDecay: 0, step: steps) },
                                          progress: progress)
        epochs += 1
        return mean
    }

    /// The mean negative log-density in nats of the first `count` images of `pixels`, each
    /// dequantised once with noise drawn from `seed` (the trainer's own generator is not touched).
    public func evaluate(pixels: UnsafeBufferPointer<UInt8>, count: Int, seed: UInt64 = 0x0de9_0a27) -> Double {
        precondition(pixels.count >= count * config.pixels, "fewer pixels than images")
        var noise = RandomGenerator(seed: seed)
        var total = 0.0
        FloatingPointMode.withDenormalsFlushed {
            var first = 0
            while first < count {
                let rows = min(config.batch, count - first)
                executor.rows = rows
                load(pixels, rows: rows, index: { first + $0 }, noise: &noise)
                executor.forward(training: false)
                let nll = executor.view(of: density.nll)
                for i in 0..<rows { total += Double(nll[i]) }
                first += rows
            }
        }
        return total / Double(max(count, 1))
    }
}

