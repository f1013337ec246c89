import Testing
import Foundation
import Arena
import Generative
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
    /// evaluation sees the same latent draws.
    func checkGradients(_ trainer: GANTrainer, _ executor: GraphExecutor, h: Float, loss: () -> Float) {
        let state = trainer.random
        _ = loss()
        var analytic: [[Float]] = []
        for id in executor.graph.parameters { analytic.append(Array(executor.gradient(of: id))) }
        for (p, id) in executor.graph.parameters.enumerated() {
            let w = executor.view(of: id), name = executor.graph.values[id.index].name
            for i in stride(from: 0, to: w.count, by: max(1, w.count / 7)) {
                let saved = w[i]
                w[i] = saved + h; trainer.random = state; let up = Double(loss())
                w[i] = saved - h; trainer.random = state; let down = Double(loss())
                w[i] = saved
                let numeric = (up - down) / (2 * Double(h)), exact = Double(analytic[p][i])
                #expect(abs(numeric - exact) <= 2e-2 * max(abs(numeric), abs(exact)) + 2e-4,
                        "\(trainer.config.objective.rawValue) \(name)[\(i)]: finite differences \(numeric), backward \(exact)")
            }
        }
        trainer.random = state
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

    @Test func sameSeedSameWeights() throws {
        let config = tinyConfig(.js)
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

    @Test(arguments: GANObjective.allCases)
    func anEpochAllocatesNothing(_ objective: GANObjective) throws {
        var config = tinyConfig(objective)
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
            #expect(calls == 0, "\(objective.rawValue): \(calls) heap allocations in an epoch")
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
