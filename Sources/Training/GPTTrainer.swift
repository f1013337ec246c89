import Glibc
import Arena
import Graph
import LowLevel

/// How a GPT trains: nanoGPT's choices by default (AdamW with β = (0.9, 0.99), weight decay 0.1 on
/// the 2-D weights, embeddings included, not on biases or layer norms; linear warm-up then cosine
/// decay to a tenth of the rate; gradients clipped to global norm 1).
public struct GPTTrainingConfig: Codable, Sendable, Equatable {
    public var iterations = 2_000
    public var batch = 12
    /// Micro-batches of `batch` windows whose gradients are averaged into one update.
    public var accumulation = 1
    public var learningRate: Float = 1e-3
    public var minimumLearningRate: Float = 1e-4
    public var warmup = 100
    public var weightDecay: Float = 0.1
    /// Decay every parameter instead of the 2-D weights only (PyTorch's default parameter group).
    public var decayEverything = false
    public var beta1: Float = 0.9
    public var beta2: Float = 0.99
    public var epsilon: Float = 1e-8
    /// Global gradient-norm clip; 0 for none.
    public var clip: Float = 1
    public var seed: UInt64 = 1337

    public init() {}

    /// The rate at update `step` (0-based): linear warm-up over `warmup` steps, then a cosine from
    /// `learningRate` down to `minimumLearningRate` at the last iteration.
    public func rate(at step: Int) -> Float {
        warmupCosineRate(at: step, of: iterations, warmup: warmup, peak: learningRate, floor: minimumLearningRate)
    }
}

/// Trains a `GPTGraph` on a token stream: random windows of `context + 1` tokens, one AdamW step
/// per batch. Everything lives in one arena; `step` and `evaluate` allocate nothing.
public final class GPTTrainer {
    public let gpt: GPTGraph
    public let config: GPTTrainingConfig
    public let executor: GraphExecutor
    public let arena: ArenaAllocator
    /// The parameters with their AdamW moments.
    private let optimizer: GraphAdamW
    /// Updates applied so far.
    public internal(set) var steps = 0
    /// Draws the training windows; part of a checkpoint.
    public var random: RandomGenerator

    /// Arena bytes a trainer for `gpt` with `config` needs.
    public static func arenaBytes(_ gpt: GPTGraph, _ config: GPTTrainingConfig) throws(GraphError) -> Int {
        let plan = try GraphExecutor.arenaBytes(graph: gpt.graph, options: options(gpt, config))
        return plan + GraphAdamW.stateBytes(gpt.graph)
    }

    static func options(_ gpt: GPTGraph, _ config: GPTTrainingConfig) -> PlanOptions {
        PlanOptions(.training, maxBatch: config.batch, seeds: [gpt.loss])
    }

    /// A trainer with nanoGPT's initial weights from `config.seed`: normal(0, 0.02) for linear and
    /// embedding weights, 0.02/√(2·layers) for the projections into the residual stream, zero
    /// biases, layer norms γ = 1, β = 0.
    public init(gpt: GPTGraph, config: GPTTrainingConfig) throws(GraphError) {
        guard config.accumulation >= 1, config.batch >= 1, config.iterations >= 0 else {
            throw GraphError("batch and accumulation must be at least 1, iterations 0 or more")
        }
        self.gpt = gpt
        self.config = config
        let bytes = try Self.arenaBytes(gpt, config)
        do { arena = try ArenaAllocator(capacity: bytes) } catch { throw GraphError("cannot allocate the \(bytes)-byte arena: \(error)") }
        executor = try GraphExecutor(graph: gpt.graph, options: Self.options(gpt, config), arena: arena)
        let graph = gpt.graph
        var random = RandomGenerator(seed: config.seed)
        let residualScale = 0.02 / Float(2 * gpt.config.layers).squareRoot()
        for id in graph.parameters {
            let name = graph.values[id.index].name
            let w = executor.view(of: id)
            if name.hasSuffix(".bias") {
                w.update(repeating: 0)
            } else if name.contains(".ln_") || name.hasPrefix("transformer.ln_f") {
                w.update(repeating: 1)
            } else {
                let std: Float = name.hasSuffix("c_proj.weight") ? residualScale : 0.02
                for i in w.indices { w[i] = std * random.nextGaussian() }
            }
        }
        optimizer = try GraphAdamW(executor, arena: arena) { _, shape in config.decayEverything || shape.count >= 2 }
        if let generator = gpt.generator {
            let state = RandomGenerator(seed: random.next()), target = UnsafeMutableRawBufferPointer(executor.intView(of: generator))
            withUnsafeBytes(of: state) { target.copyMemory(from: $0) }
        }
        self.random = RandomGenerator(seed: random.next())
    }

    /// Everything a resumed run needs besides `steps` and `random`, by name: each parameter, its
    /// AdamW moments ("adam.m.<name>", "adam.v.<name>"). The memory is the trainer's own.
    public var namedTensors: [(name: String, values: UnsafeMutableBufferPointer<Float>)] { optimizer.namedTensors }

    /// The dropout generator's state (nil without dropout), which a resumed run continues.
    public var dropoutState: RandomGenerator? {
        get {
            guard let generator = gpt.generator else { return nil }
            return UnsafeRawPointer(executor.intView(of: generator).baseAddress!).loadUnaligned(as: RandomGenerator.self)
        }
        set {
            guard let generator = gpt.generator, let newValue else { return }
            withUnsafeBytes(of: newValue) { UnsafeMutableRawBufferPointer(executor.intView(of: generator)).copyMemory(from: $0) }
        }
    }

    /// Sets the number of updates done (a resumed run's learning-rate schedule and AdamW bias
    /// correction continue from it).
    public func resume(atStep step: Int) {
        precondition(step >= 0)
        steps = step
    }

    /// Writes `batch` random windows of `tokens` into the inputs and targets: the next tokens,
    /// or for the masked-token objective the window itself with BERT's corruption of the input.
    private func sample(_ tokens: UnsafeBufferPointer<Int32>, using generator: inout RandomGenerator) {
        let t = gpt.config.context, inputs = executor.intView(of: gpt.tokens), targets = executor.intView(of: gpt.targets)
        for b in 0..<executor.rows {
            let start = generator.nextIndex(below: tokens.count - t)
            for i in 0..<t {
                inputs[b * t + i] = tokens[start + i]
                targets[b * t + i] = tokens[start + i + 1]
            }
        }
        if let weights = gpt.weights { mask(inputs, targets, weights: executor.view(of: weights), using: &generator) }
    }

    /// BERT's masking: each position is chosen with probability 0.15 (at least one per window);
    /// a chosen position's input becomes the mask token (80%), a random token (10%) or stays
    /// (10%), and its target is the original token. The weights average the loss over the
    /// batch's chosen positions.
    private func mask(_ inputs: UnsafeMutableBufferPointer<Int32>, _ targets: UnsafeMutableBufferPointer<Int32>,
                      weights: UnsafeMutableBufferPointer<Float>, using generator: inout RandomGenerator) {
        let t = gpt.config.context, maskToken = Int32(gpt.config.vocabulary - 1), n = executor.rows * t
        var chosen = 0
        for b in 0..<executor.rows {
            var any = false
            for i in 0..<t {
                let j = b * t + i
                targets[j] = inputs[j]
                let pick = generator.nextUniform() < 0.15 || (!any && i == t - 1)
                weights[j] = pick ? 1 : 0
                guard pick else { continue }
                any = true
                chosen += 1
                let u = generator.nextUniform()
                if u < 0.8 { inputs[j] = maskToken } else if u < 0.9 { inputs[j] = Int32(generator.nextIndex(below: Int(maskToken))) }
            }
        }
        let share = 1 / Float(chosen)
        for j in 0..<n where weights[j] != 0 { weights[j] = share }
    }

    /// One AdamW step on `accumulation` random batches of `tokens` (at least context + 1 of them),
    /// their gradients averaged; returns the mean loss before the update.
    /// - Throws: `TrainingError.nonFinite` when a loss is NaN or infinite (weights unchanged).
    /// Runs with denormals flushed to zero (`FloatingPointMode`), as the network trainer does:
    /// AdamW's moments of tiny gradients would otherwise decay into denormals, each operation on
    /// which costs a microcode assist.
    public func step(_ tokens: UnsafeBufferPointer<Int32>) throws(TrainingError) -> Float {
        try FloatingPointMode.withDenormalsFlushed { () throws(TrainingError) in try stepUnflushed(tokens) }
    }

    private func stepUnflushed(_ tokens: UnsafeBufferPointer<Int32>) throws(TrainingError) -> Float {
        var share = 1 / Float(config.accumulation), loss: Float = 0
        for micro in 0..<config.accumulation {
            sample(tokens, using: &random)
            executor.forward(training: true)
            let part = executor.view(of: gpt.loss)[0]
            guard part.isFinite else { throw .nonFinite(epoch: 0, step: steps, loss: part) }
            loss += part * share
            // dL/dloss = 1/accumulation: the micro-batches' gradients add up to their mean.
            executor.backward(from: gpt.loss, gradient: &share, accumulate: micro > 0)
        }
        optimizer.clipGradients(to: config.clip)
        let rate = config.rate(at: steps)
        steps += 1
        optimizer.update(rate: rate, beta1: config.beta1, beta2: config.beta2, epsilon: config.epsilon, weightDecay: config.weightDecay, step: steps)
        return loss
    }

    /// Continues `prompt` (token ids, at least one) by `count` tokens, written to `output`: each from
    /// the model's distribution for the last `context` tokens (nanoGPT's cropping), divided by
    /// `temperature` (0: the most likely token) and cut to the `topK` most likely (0: all),
    /// drawn from `seed`. Runs one sample at a time; allocates nothing.
    public func generate(prompt: UnsafeBufferPointer<Int32>, count: Int, temperature: Float, topK: Int, seed: UInt64,
                         into output: UnsafeMutableBufferPointer<Int32>, scratch: UnsafeMutableBufferPointer<Float>) {
        precondition(!prompt.isEmpty && output.count >= prompt.count + count && scratch.count >= gpt.config.vocabulary)
        let t = gpt.config.context, vocabulary = gpt.config.vocabulary
        var generator = RandomGenerator(seed: seed)
        _ = output.update(fromContentsOf: prompt)
        var length = prompt.count
        let savedRows = executor.rows
        executor.rows = 1
        defer { executor.rows = savedRows }
        let inputs = executor.intView(of: gpt.tokens)
        for _ in 0..<count {
            // The last `t` tokens at positions 0..<n; later positions do not reach earlier ones (causal).
            let n = min(length, t), start = length - n
            for i in 0..<t { inputs[i] = i < n ? output[start + i] : 0 }
            executor.forward(training: false)
            let logits = executor.view(of: gpt.logits).baseAddress! + (n - 1) * vocabulary
            output[length] = Int32(Kernels.pickToken(logits, vocabulary: vocabulary, temperature: temperature, topK: topK,
                                                     probabilities: scratch.baseAddress!, using: &generator))
            length += 1
        }
    }

    /// The mean loss over `batches` random batches of `tokens`, drawn from `seed` (the same
    /// windows every call with the same seed), without touching the weights.
    public func evaluate(_ tokens: UnsafeBufferPointer<Int32>, batches: Int, seed: UInt64) -> Float {
        var generator = RandomGenerator(seed: seed)
        var total: Float = 0
        for _ in 0..<batches {
            sample(tokens, using: &generator)
            executor.forward(training: false)
            total += executor.view(of: gpt.loss)[0]
        }
        return total / Float(max(batches, 1))
    }

    /// The mean next-token cross-entropy (nats) over the first `limit` (default all) consecutive
    /// windows of `context + 1` tokens, windows w·T ..< (w+1)·T + 1, every position scored: a
    /// deterministic figure, the one `export-tool verify` computes through the C interface.
    /// Next-token models only. Allocates nothing.
    public func windowLoss(_ tokens: UnsafeBufferPointer<Int32>, limit: Int? = nil) -> Double {
        let t = gpt.config.context, v = gpt.config.vocabulary
        let windows = min(limit ?? .max, (tokens.count - 1) / t)
        guard windows > 0, gpt.config.objective == .nextToken else { return .nan }
        let inputs = executor.intView(of: gpt.tokens), targets = executor.intView(of: gpt.targets), logits = executor.view(of: gpt.logits)
        var total = 0.0
        var first = 0
        while first < windows {
            let filled = min(executor.rows, windows - first)
            for b in 0..<executor.rows {
                let start = (first + min(b, filled - 1)) * t
                for i in 0..<t {
                    inputs[b * t + i] = tokens[start + i]
                    targets[b * t + i] = tokens[start + i + 1]
                }
            }
            executor.forward(training: false)
            for row in 0..<(filled * t) {
                let z = logits.baseAddress! + row * v
                var largest = z[0]
                for k in 1..<v { largest = max(largest, z[k]) }
                var sum = 0.0
                for k in 0..<v { sum += exp(Double(z[k] - largest)) }
                total += log(sum) - Double(z[Int(targets[row])] - largest)
            }
            first += filled
        }
        return total / Double(windows * t)
    }
}
