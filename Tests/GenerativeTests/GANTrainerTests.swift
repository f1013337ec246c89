import Testing
import Foundation
import Arena
import Generative
import InferTools
import Graph
import LowLevel
import MallocCounter
import Training

/// A tiny GAN on random 4×4 "images", small enough for finite differences.
func tinyConfig(_ objective: GANObjective) -> GANConfig {
    var c = GANConfig()
    (c.height, c.width, c.latent) = (4, 4, 3)
    c.generatorHidden = [5]
    c.discriminatorHidden = [6]
    c.batch = 4
    c.objective = objective
    c.mmdWidths = [0.5, 2]
    c.seed = 7
    // The plain form; tests turn these on where they check them.
    (c.generatorBatchNorm, c.generatorAverage, c.learningRateDecay, c.discriminatorDropout) = (false, 0, false, 0)
    return c
}

/// The tiny GAN with batch norm in the generator and dropout in the discriminator.
func tinyConfigWithNormAndDropout(_ objective: GANObjective = .js) -> GANConfig {
    var c = tinyConfig(objective)
    c.generatorBatchNorm = true
    c.discriminatorDropout = 0.3
    return c
}

func randomImages(_ count: Int, pixels: Int, seed: UInt64) -> [UInt8] {
    var random = RandomGenerator(seed: seed)
    return (0..<(count * pixels)).map { _ in UInt8(random.nextIndex(below: 256)) }
}

@Suite(.serialized) struct GANTrainerTests {
    init() { BLAS.configure(threads: 1) }

    /// Central differences of `loss` against the gradients it left, for a spread of entries of
    /// every parameter of `executor`, with step `h` (small enough not to cross the leaky ReLUs'
    /// kinks often, large enough for MMD's cancellations in Float). The random state is restored before each evaluation, so every
    /// evaluation sees the same latent draws (and dropout masks).
    func checkGradients(_ trainer: GANTrainer, _ executor: GraphExecutor, h: Float, loss: () -> Float) {
        let state = trainer.random, dropout = trainer.dropoutState
        _ = loss()
        var analytic: [[Float]] = []
        for id in executor.graph.parameters { analytic.append(Array(executor.gradient(of: id))) }
        for (p, id) in executor.graph.parameters.enumerated() {
            let w = executor.view(of: id), name = executor.graph.values[id.index].name
            for i in stride(from: 0, to: w.count, by: max(1, w.count / 7)) {
                let saved = w[i]
                w[i] = saved + h; trainer.random = state; trainer.dropoutState = dropout; let up = Double(loss())
                w[i] = saved - h; trainer.random = state; trainer.dropoutState = dropout; let down = Double(loss())
                w[i] = saved
                let numeric = (up - down) / (2 * Double(h)), exact = Double(analytic[p][i])
                #expect(abs(numeric - exact) <= 2e-2 * max(abs(numeric), abs(exact)) + 2e-4,
                        "\(trainer.config.objective.rawValue) \(name)[\(i)]: finite differences \(numeric), backward \(exact)")
            }
        }
        trainer.random = state
        trainer.dropoutState = dropout
    }

    @Test(arguments: GANObjective.allCases)
    func generatorGradientsMatchFiniteDifferences(_ objective: GANObjective) throws {
        let config = tinyConfig(objective)
        let pixels = randomImages(8, pixels: config.pixels, seed: 1)
        let trainer = try GANTrainer(config: config, trainingCount: 8)
        pixels.withUnsafeBufferPointer { p in
            checkGradients(trainer, trainer.generator, h: 1e-2) { trainer.generatorLoss(p, first: 0) }
        }
    }

    @Test(arguments: GANObjective.allCases.filter { $0 != .mmd })
    func discriminatorGradientsMatchFiniteDifferences(_ objective: GANObjective) throws {
        let config = tinyConfig(objective)
        let pixels = randomImages(8, pixels: config.pixels, seed: 2)
        let trainer = try GANTrainer(config: config, trainingCount: 8)
        pixels.withUnsafeBufferPointer { p in
            checkGradients(trainer, trainer.discriminator!, h: 1e-3) { trainer.discriminatorLoss(p, first: 4) }
        }
    }

    /// Batch norm makes each image's output depend on the whole batch; the generator's backward
    /// must carry that, through a discriminator that drops units.
    @Test(arguments: [GANObjective.js, .wasserstein])
    func generatorGradientsWithBatchNormMatchFiniteDifferences(_ objective: GANObjective) throws {
        let config = tinyConfigWithNormAndDropout(objective)
        let pixels = randomImages(8, pixels: config.pixels, seed: 11)
        let trainer = try GANTrainer(config: config, trainingCount: 8)
        #expect(trainer.generatorGraph.graph.parameters.contains { trainer.generatorGraph.graph.values[$0.index].name == "generator.bn1.weight" })
        pixels.withUnsafeBufferPointer { p in
            checkGradients(trainer, trainer.generator, h: 1e-2) { trainer.generatorLoss(p, first: 0) }
        }
    }

    @Test func discriminatorGradientsWithDropoutMatchFiniteDifferences() throws {
        let config = tinyConfigWithNormAndDropout()
        let pixels = randomImages(8, pixels: config.pixels, seed: 12)
        let trainer = try GANTrainer(config: config, trainingCount: 8)
        let before = trainer.dropoutState
        #expect(before != nil)
        pixels.withUnsafeBufferPointer { p in
            checkGradients(trainer, trainer.discriminator!, h: 1e-3) { trainer.discriminatorLoss(p, first: 4) }
            // Each pass draws a fresh mask: the same inputs score differently.
            trainer.random = RandomGenerator(seed: 1)
            let a = trainer.discriminatorLoss(p, first: 0)
            trainer.random = RandomGenerator(seed: 1)
            let b = trainer.discriminatorLoss(p, first: 0)
            #expect(a != b)
        }
    }

    /// With `generatorAverage` β, θ̄ₜ = βₜθ̄ₜ₋₁ + (1 − βₜ)θₜ with βₜ = min(β, (1 + t)/(10 + t)),
    /// replayed here in Double from the live weights after each update (one batch, so one update
    /// per epoch); the exported weights are the averages.
    @Test func theGeneratorAverageFollowsItsFormula() throws {
        var config = tinyConfig(.js)
        config.generatorAverage = 0.5
        config.learningRate = 0.05
        let pixels = randomImages(4, pixels: config.pixels, seed: 10)
        let trainer = try GANTrainer(config: config, trainingCount: 4)
        let ids = trainer.generatorGraph.graph.parameters
        var expected = ids.map { Array(trainer.generator.view(of: $0)).map(Double.init) }
        for t in 0..<12 {
            _ = try pixels.withUnsafeBufferPointer { try trainer.trainEpoch(pixels: $0) }
            let beta = min(0.5, Double(1 + t) / Double(10 + t))
            for (p, id) in ids.enumerated() {
                let w = trainer.generator.view(of: id)
                for i in w.indices { expected[p][i] = beta * expected[p][i] + (1 - beta) * Double(w[i]) }
            }
        }
        let weights = trainer.generatorWeights
        var moved = 0.0
        for (p, id) in ids.enumerated() {
            let name = trainer.generatorGraph.graph.values[id.index].name, live = trainer.generator.view(of: id)
            for i in expected[p].indices {
                let a = Double(trainer.averaged[p][i])
                #expect(abs(a - expected[p][i]) <= 1e-5 * max(1, abs(a)), "\(name)[\(i)]: \(a), formula \(expected[p][i])")
                moved = max(moved, abs(a - Double(live[i])))
            }
            #expect(weights[name] == Array(trainer.averaged[p]), "\(name) is exported averaged")
        }
        #expect(moved > 1e-3, "the average lags the live weights")
    }

    /// The averaged generator's batch-norm statistics are its own: z ~ N(0, I) makes the first
    /// dense layer's output mean its bias and its variance Σᵢ W[i, j]², which the exported
    /// running statistics must estimate for the averaged W and b (not the live ones). Reading
    /// the export leaves training as it was.
    @Test func theAveragedGeneratorsStatisticsAreReestimated() throws {
        var config = tinyConfig(.js)
        (config.batch, config.latent, config.generatorBatchNorm, config.generatorAverage, config.learningRate) = (64, 3, true, 0.9, 0.05)
        config.generatorHidden = [5]
        let pixels = randomImages(128, pixels: config.pixels, seed: 13)
        let trainer = try GANTrainer(config: config, trainingCount: 128), twin = try GANTrainer(config: config, trainingCount: 128)
        var weights: [String: [Float]] = [:]
        try pixels.withUnsafeBufferPointer { p in
            for _ in 0..<4 { _ = try trainer.trainEpoch(pixels: p); _ = try twin.trainEpoch(pixels: p) }
            weights = trainer.generatorWeights
            _ = try trainer.trainEpoch(pixels: p)
            _ = try twin.trainEpoch(pixels: p)
        }
        #expect(trainer.generatorWeights == twin.generatorWeights, "exporting changed nothing in training")
        let w = try #require(weights["generator.fc1.weight"]), b = try #require(weights["generator.fc1.bias"])
        let mean = try #require(weights["generator.bn1.running_mean"]), variance = try #require(weights["generator.bn1.running_var"])
        var liveGap: Float = 0
        for j in 0..<5 {
            let expectedVariance = (0..<3).reduce(Float(0)) { $0 + w[$1 * 5 + j] * w[$1 * 5 + j] }
            #expect(abs(mean[j] - b[j]) <= 0.15 * expectedVariance.squareRoot(), "channel \(j): mean \(mean[j]), bias \(b[j])")
            #expect(abs(variance[j] / expectedVariance - 1) <= 0.2, "channel \(j): variance \(variance[j]), expected \(expectedVariance)")
        }
        let graph = trainer.generatorGraph.graph
        let biasID = try #require(graph.parameters.first { graph.values[$0.index].name == "generator.fc1.bias" })
        let liveBias = Array(trainer.generator.view(of: biasID))
        for j in 0..<5 { liveGap = max(liveGap, abs(liveBias[j] - b[j])) }
        #expect(liveGap > 0.01, "the averaged and live biases differ, so the check above tells them apart")
    }

    @Test func theLinearScheduleFallsToZero() throws {
        var config = tinyConfig(.js)
        config.learningRate = 0.1
        let constant = try GANTrainer(config: config, trainingCount: 8)
        config.learningRateDecay = true
        let linear = try GANTrainer(config: config, trainingCount: 8)
        #expect(constant.learningRate(update: 7, of: 10) == 0.1)
        #expect(linear.learningRate(update: 1, of: 10) == 0.1)
        #expect(abs(linear.learningRate(update: 6, of: 10) - 0.05) < 1e-7)
        #expect(abs(linear.learningRate(update: 10, of: 10) - 0.01) < 1e-7)
        #expect(linear.learningRate(update: 11, of: 10) == 0)
    }

    /// The losses as the course writes them, at known scores.
    @Test func objectiveFormulas() {
        let real: [Float] = [2, -1], fake: [Float] = [0.5, -3]
        var gr = [Float](repeating: 0, count: 2), gf = gr
        func softplus(_ x: Double) -> Double { log(1 + exp(x)) }
        let js = GANObjective.js.discriminatorLoss(real: real, fake: fake, count: 2, realGradient: &gr, fakeGradient: &gf)
        let jsExpected: Double = (softplus(-2) + softplus(1) + softplus(0.5) + softplus(-3)) / 2
        #expect(abs(Double(js) - jsExpected) < 1e-6)
        let kl = GANObjective.kl.discriminatorLoss(real: real, fake: fake, count: 2, realGradient: &gr, fakeGradient: &gf)
        let klExpected: Double = -0.5 + ((exp(0.5) - 1) + (exp(-3.0) - 1)) / 2
        #expect(abs(Double(kl) - klExpected) < 1e-6)
        let klGradient: Double = exp(0.5) / 2
        #expect(abs(Double(gf[0]) - klGradient) < 1e-6)
        let w = GANObjective.wasserstein.discriminatorLoss(real: real, fake: fake, count: 2, realGradient: &gr, fakeGradient: &gf)
        let wExpected: Float = (-2.5 - 1) / 2
        #expect(w == wExpected)
        let minimax = GANObjective.jsMinimax.generatorLoss(fake: fake, count: 2, gradient: &gf)
        let minimaxExpected: Double = (log(1 - 1 / (1 + exp(-0.5))) + log(1 - 1 / (1 + exp(3.0)))) / 2
        #expect(abs(Double(minimax) - minimaxExpected) < 1e-6)
        let nonSaturating = GANObjective.js.generatorLoss(fake: fake, count: 2, gradient: &gf)
        let nonSaturatingExpected: Double = -(log(1 / (1 + exp(-0.5))) + log(1 / (1 + exp(3.0)))) / 2
        #expect(abs(Double(nonSaturating) - nonSaturatingExpected) < 1e-6)
    }

    /// MMD² of a batch with itself is about 0 (unbiased: it may be slightly negative) and grows as
    /// one batch moves away.
    @Test func mmdSeparatesBatches() throws {
        let arena = try ArenaAllocator(capacity: KernelMMD.arenaBytes(count: 8, dimension: 3))
        let mmd = try KernelMMD(count: 8, dimension: 3, widths: [2], arena: arena)
        var random = RandomGenerator(seed: 3)
        for i in 0..<24 { mmd.generated[i] = random.nextGaussian(); mmd.real[i] = mmd.generated[i] }
        let same = mmd.evaluate()
        for i in 0..<24 { mmd.generated[i] += 3 }
        let apart = mmd.evaluate()
        #expect(abs(same) < 0.3 && apart > same + 0.5, "same \(same), apart \(apart)")
    }

    @Test(arguments: [false, true])
    func sameSeedSameWeights(_ everything: Bool) throws {
        var config = everything ? tinyConfigWithNormAndDropout() : tinyConfig(.js)
        if everything { (config.generatorAverage, config.learningRateDecay) = (0.9, true) }
        let pixels = randomImages(16, pixels: config.pixels, seed: 4)
        func train() throws -> [Float] {
            let trainer = try GANTrainer(config: config, trainingCount: 16)
            _ = try pixels.withUnsafeBufferPointer { try trainer.trainEpoch(pixels: $0) }
            return trainer.generatorWeights.sorted { $0.key < $1.key }.flatMap(\.value)
        }
        let a = try train(), b = try train()
        #expect(a == b)
        var other = config
        other.seed = 8
        let c = try GANTrainer(config: other, trainingCount: 16).generatorWeights.sorted { $0.key < $1.key }.flatMap(\.value)
        #expect(a != c)
    }

    /// Interrupted after each epoch and resumed from the encoded checkpoint, a run with every
    /// knob (batch norm, dropout, averaging, the linear schedule) ends bit-identical.
    @Test(arguments: [GANObjective.js, .wasserstein, .mmd])
    func aResumedRunIsBitIdentical(_ objective: GANObjective) throws {
        var config = tinyConfigWithNormAndDropout(objective)
        (config.generatorAverage, config.learningRateDecay, config.epochs) = (0.9, true, 3)
        let pixels = randomImages(16, pixels: config.pixels, seed: 15)
        let straight = try GANTrainer(config: config, trainingCount: 16)
        for _ in 0..<3 { _ = try pixels.withUnsafeBufferPointer { try straight.trainEpoch(pixels: $0) } }
        for split in 1...2 {
            let first = try GANTrainer(config: config, trainingCount: 16)
            for _ in 0..<split { _ = try pixels.withUnsafeBufferPointer { try first.trainEpoch(pixels: $0) } }
            let checkpoint = try GANCheckpoint(decoding: try GANCheckpoint(trainer: first).encoded())
            let second = try GANTrainer(config: checkpoint.header.gan, trainingCount: 16)
            try checkpoint.restore(into: second)
            #expect(second.epochs == split)
            while second.epochs < 3 { _ = try pixels.withUnsafeBufferPointer { try second.trainEpoch(pixels: $0) } }
            for ((name, a), (_, b)) in zip(straight.namedTensors, second.namedTensors) {
                #expect(Array(a) == Array(b), "\(objective.rawValue), resumed after epoch \(split): \(name)")
            }
            #expect(straight.random == second.random && straight.dropoutState == second.dropoutState)
            #expect(straight.generatorWeights == second.generatorWeights)
        }
        // Another configuration or training set is refused.
        let checkpoint = GANCheckpoint(trainer: straight)
        #expect(throws: CheckpointError.self) { try checkpoint.restore(into: try GANTrainer(config: config, trainingCount: 12)) }
        var other = config
        other.latent += 1
        #expect(throws: CheckpointError.self) { try checkpoint.restore(into: try GANTrainer(config: other, trainingCount: 16)) }
    }

    @Test(arguments: GANObjective.allCases.map { ($0, false) } + [(.js, true), (.wasserstein, true)])
    func anEpochAllocatesNothing(_ objective: GANObjective, everything: Bool) throws {
        var config = everything ? tinyConfigWithNormAndDropout(objective) : tinyConfig(objective)
        if everything { (config.generatorAverage, config.learningRateDecay) = (0.999, true) }
        (config.height, config.width, config.batch) = (28, 28, 32)
        config.generatorHidden = [64]
        config.discriminatorHidden = [32]
        let pixels = randomImages(64, pixels: config.pixels, seed: 5)
        let trainer = try GANTrainer(config: config, trainingCount: 64)
        try pixels.withUnsafeBufferPointer { p in
            _ = try trainer.trainEpoch(pixels: p) // warm-up: OpenBLAS's buffers, lazy globals
            var failure: Error?
            malloc_counter_start()
            do { _ = try trainer.trainEpoch(pixels: p) } catch { failure = error }
            let calls = malloc_counter_stop()
            #expect(failure == nil)
            #expect(calls == 0, "\(objective.rawValue)\(everything ? " with batch norm, dropout and averaging" : ""): \(calls) heap allocations in an epoch")
        }
        #expect(trainer.arena.highWaterMark == trainer.arena.capacity, "the arena is sized exactly")
    }

    @Test func aDivergingGANStopsWithAMessage() throws {
        var config = tinyConfig(.kl)
        config.learningRate = .infinity // the first update makes the weights infinite
        let pixels = randomImages(64, pixels: config.pixels, seed: 6)
        let trainer = try GANTrainer(config: config, trainingCount: 64)
        var thrown: TrainingError?
        pixels.withUnsafeBufferPointer { p in
            for _ in 0..<3 where thrown == nil {
                do throws(TrainingError) { _ = try trainer.trainEpoch(pixels: p) } catch { thrown = error }
            }
        }
        guard case .nonFinite? = thrown else { Issue.record("no NaN was reported"); return }
        #expect("\(thrown!)".contains("diverged"))
    }
}
