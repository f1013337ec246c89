import Testing
import Foundation
import Generative
import Graph
import LowLevel
import MallocCounter

/// A DDPM's U-Net small enough to train in a test: 8×8 bar images, 4 channels, 50 steps.
func tinyDiffusion() -> DiffusionConfig {
    var c = DiffusionConfig()
    (c.height, c.width, c.channels, c.embedding, c.steps, c.batch, c.learningRate) = (8, 8, 4, 8, 50, 8, 3e-3)
    c.seed = 5
    return c
}

@Suite(.serialized) struct DiffusionTrainerTests {
    init() { BLAS.configure(threads: 1) }

    @Test func theTimestepEmbeddingIsSinusoidal() {
        var e = [Float](repeating: 0, count: 8)
        e.withUnsafeMutableBufferPointer { DiffusionNetwork.timestepEmbedding(7, into: $0.baseAddress!, features: 8) }
        for i in 0..<4 {
            let angle = 7 * pow(10000, -Double(i) / 4)
            #expect(abs(Double(e[i]) - sin(angle)) < 1e-6 && abs(Double(e[4 + i]) - cos(angle)) < 1e-6)
        }
    }

    @Test func theNetworkPredictsNoiseOfTheImagesShape() throws {
        let c = tinyDiffusion()
        let n = try DiffusionNetwork(c, loss: false)
        #expect(n.graph.type(of: n.prediction).shape == [1, 8, 8] && n.loss == nil)
        let names = Set(n.graph.parameters.map { n.graph.values[$0.index].name })
        for name in ["unet.time.weight", "unet.down1.time.weight", "unet.down3.conv2.weight", "unet.up1.conv1.weight", "unet.up1.time.weight", "unet.out.weight"] {
            #expect(names.contains(name), "\(name) missing")
        }
        var bad = c
        bad.height = 10
        #expect(bad.problem != nil)
    }

    /// The ε-loss starts near E‖ε‖²/n = 1 (the network predicts about 0) and falls with training.
    @Test func trainingLowersTheNoisePredictionLoss() throws {
        let c = tinyDiffusion()
        let pixels = barImages(128, height: 8, width: 8, seed: 4)
        let trainer = try DiffusionTrainer(config: c, trainingCount: 128)
        var losses: [Float] = []
        try pixels.withUnsafeBufferPointer { p in for _ in 0..<10 { losses.append(try trainer.trainEpoch(pixels: p)) } }
        #expect(abs(losses[0] - 1) < 0.3, "first epoch's loss \(losses[0])")
        #expect(losses.suffix(3).reduce(0, +) / 3 < 0.6 * losses[0], "losses \(losses)")
    }

    @Test func sameSeedSameWeights() throws {
        let c = tinyDiffusion()
        let pixels = barImages(16, height: 8, width: 8, seed: 1)
        func train(_ c: DiffusionConfig) throws -> [String: [Float]] {
            let t = try DiffusionTrainer(config: c, trainingCount: 16)
            _ = try pixels.withUnsafeBufferPointer { try t.trainEpoch(pixels: $0) }
            return t.weights
        }
        #expect(try train(c) == (try train(c)))
        var other = c
        other.seed += 1
        #expect(try train(other) != (try train(c)))
    }

    /// The file's weights are the moving average: after one update at the warm-up's decay
    /// min(β, 1/10), 0.9 of the way to the new weights; with `average` 0, the last weights.
    @Test func theFileGetsTheWeightsMovingAverage() throws {
        var c = tinyDiffusion()
        c.batch = 16
        let pixels = barImages(16, height: 8, width: 8, seed: 2)
        let trainer = try DiffusionTrainer(config: c, trainingCount: 16)
        let before = trainer.lastWeights
        _ = try pixels.withUnsafeBufferPointer { try trainer.trainEpoch(pixels: $0) }
        let after = trainer.lastWeights, averaged = trainer.weights
        for (name, w) in after {
            let start = try #require(before[name]), a = try #require(averaged[name])
            for i in w.indices { #expect(abs(a[i] - (start[i] + 0.9 * (w[i] - start[i]))) < 1e-6, "\(name)[\(i)]") }
        }
        #expect(after != before)
        c.average = 0
        let plain = try DiffusionTrainer(config: c, trainingCount: 16)
        _ = try pixels.withUnsafeBufferPointer { try plain.trainEpoch(pixels: $0) }
        #expect(plain.weights == plain.lastWeights && plain.weights == after, "no average: the last weights, the same updates")
    }

    @Test func anEpochAllocatesNothingInAnExactArena() throws {
        var c = tinyDiffusion()
        (c.height, c.width, c.batch) = (28, 28, 8)
        let pixels = randomImages(16, pixels: c.pixels, seed: 2)
        let trainer = try DiffusionTrainer(config: c, trainingCount: 16)
        try pixels.withUnsafeBufferPointer { p in
            _ = try trainer.trainEpoch(pixels: p)
            malloc_counter_start()
            let loss = try trainer.trainEpoch(pixels: p)
            let calls = malloc_counter_stop()
            #expect(calls == 0 && loss.isFinite, "\(calls) heap allocations in an epoch")
        }
        #expect(trainer.arena.highWaterMark == trainer.arena.capacity, "the arena is sized exactly")
    }
}
