import Testing
import Foundation
import Arena
import CZlib
import Generative
import Graph
import Infer
import InferC
import InferTools
import LowLevel
import MallocCounter
import ModelFile
import Training

/// A RealNVP flow small enough for a numeric Jacobian: 4×4 images, two couplings of one
/// convolution of three filters.
func tinyFlow() -> FlowConfig {
    var c = FlowConfig()
    (c.height, c.width, c.couplings, c.hidden, c.depth, c.batch, c.epochs) = (4, 4, 2, 3, 1, 4, 2)
    c.seed = 11
    return c
}

/// Every parameter of `trainer` set from `seed`, the couplings' s and t networks included (which
/// start at zero), so each coupling changes its input.
func randomiseFlow(_ trainer: FlowTrainer, seed: UInt64) {
    var random = RandomGenerator(seed: seed)
    for id in trainer.density.graph.parameters {
        let w = trainer.executor.view(of: id), name = trainer.density.graph.values[id.index].name
        let spread: Float = name.hasSuffix(".scale") ? 0.2 : name.hasPrefix("flow.affine") ? 0.3 : 0.5
        for i in w.indices { w[i] = (name.hasSuffix(".scale") ? 0.8 : 0) + spread * (2 * random.nextUniform() - 1) }
    }
}

/// Images with structure a flow can learn: a bright vertical bar in a random column on a dark,
/// slightly noisy background.
func barImages(_ count: Int, height: Int, width: Int, seed: UInt64) -> [UInt8] {
    var random = RandomGenerator(seed: seed), pixels: [UInt8] = []
    for _ in 0..<count {
        let column = random.nextIndex(below: width)
        for _ in 0..<height {
            for x in 0..<width { pixels.append(x == column ? UInt8(200 + random.nextIndex(below: 56)) : UInt8(random.nextIndex(below: 20))) }
        }
    }
    return pixels
}

@Suite(.serialized) struct FlowTests {
    init() { BLAS.configure(threads: 1) }

    /// The density graph at one image: the latent z and −log p(x).
    func evaluate(_ trainer: FlowTrainer, _ x: [Float]) -> (z: [Double], nll: Double) {
        let e = trainer.executor
        e.rows = 1
        defer { e.rows = trainer.config.batch }
        _ = e.view(of: trainer.density.image).update(fromContentsOf: x)
        e.forward(training: true)
        return (e.view(of: trainer.density.latent).prefix(x.count).map(Double.init), Double(e.view(of: trainer.density.nll)[0]))
    }

    /// log |det A| by Gaussian elimination with partial pivoting.
    func logAbsDeterminant(_ a: [[Double]]) -> Double {
        var m = a, total = 0.0
        let n = m.count
        for c in 0..<n {
            let p = (c..<n).max { abs(m[$0][c]) < abs(m[$1][c]) }!
            m.swapAt(c, p)
            total += Foundation.log(abs(m[c][c]))
            for r in (c + 1)..<n {
                let f = m[r][c] / m[c][c]
                for k in c..<n { m[r][k] -= f * m[c][k] }
            }
        }
        return total
    }

    /// −log p(x) is ½‖z‖² + (n/2)·log 2π − log |det ∂z/∂x|, the determinant taken from central
    /// differences of the whole map (logit, affine, couplings): the graph's log-determinants are exact.
    @Test func theNegativeLogDensityCountsTheWholeJacobian() throws {
        var config = tinyFlow()
        config.alpha = 0.05 // a margin whose log(1 − 2α) per pixel the check would notice missing
        let trainer = try FlowTrainer(config: config, trainingCount: 8)
        randomiseFlow(trainer, seed: 3)
        var random = RandomGenerator(seed: 5)
        let n = config.pixels
        for _ in 0..<3 {
            let x = (0..<n).map { _ in 0.25 + 0.5 * random.nextUniform() }
            let (z, nll) = evaluate(trainer, x)
            // Central differences at steps h and h/2, combined (Richardson) to cancel the h² error.
            func column(_ j: Int, _ h: Float) -> [Double] {
                var up = x, down = x
                up[j] += h
                down[j] -= h
                let (zu, _) = evaluate(trainer, up), (zd, _) = evaluate(trainer, down)
                return (0..<n).map { (zu[$0] - zd[$0]) / Double(up[j] - down[j]) }
            }
            var jacobian = [[Double]](repeating: [Double](repeating: 0, count: n), count: n)
            for j in 0..<n {
                // Of three step pairs, the one whose two estimates agree best: a pair whose
                // steps straddle a kink disagrees.
                let steps: [Float] = [8e-3, 4e-3, 2e-3, 1e-3]
                let columns: [[Double]] = steps.map { column(j, $0) }
                func disagreement(_ k: Int) -> Double { zip(columns[k], columns[k + 1]).map { abs($0 - $1) }.max()! }
                let best = (0..<3).min { disagreement($0) < disagreement($1) }!
                for i in 0..<n { jacobian[i][j] = (4 * columns[best + 1][i] - columns[best][i]) / 3 }
            }
            let expected = 0.5 * z.reduce(0) { $0 + $1 * $1 } + 0.5 * Double(n) * Foundation.log(2 * Double.pi) - logAbsDeterminant(jacobian)
            #expect(abs(nll - expected) < 1e-3 * max(1, abs(expected)), "−log p from the graph \(nll), from the numeric Jacobian \(expected)")
            // The couplings changed the latent (not just the logit and the affine map).
            #expect(z.contains { $0.isFinite } && z.allSatisfy(\.isFinite))
        }
    }

    /// The exported file's sampler inverts the density: z of an image, run back through
    /// `infer_run`, gives the image again; `infer_log_density` gives the graph's −(−log p).
    @Test func theFileSamplesByTheExactInverseAndEvaluatesTheDensity() throws {
        let config = tinyFlow()
        let trainer = try FlowTrainer(config: config, trainingCount: 8)
        randomiseFlow(trainer, seed: 4)
        let file = try ModelWriter.encode(flow: config, weights: trainer.weights)
        var random = RandomGenerator(seed: 6)
        try withOpenedModel(file) { model in
            #expect(infer_input_len(model) == 16 && infer_output_len(model) == 16)
            for _ in 0..<4 {
                let x = (0..<16).map { _ in 0.05 + 0.9 * random.nextUniform() }
                let (z, nll) = evaluate(trainer, x)
                var latent = z.map(Float.init), image = [Float](repeating: .nan, count: 16)
                #expect(infer_run(model, &latent, 16, &image, 16) == 0, "\(String(cString: infer_last_error()))")
                let gap = zip(image, x).map { abs($0 - $1) }.max()!
                #expect(gap < 1e-4, "the inverse misses the image by \(gap)")
                var density = 0.0
                #expect(infer_log_density(model, x, 16, &density) == 0, "\(String(cString: infer_last_error()))")
                #expect(abs(density + nll) < 1e-4 * max(1, abs(nll)), "log p from C \(density), from the graph \(-nll)")
            }
            // Samples are images in [0, 1], the same for the same seed.
            var a = [Float](repeating: .nan, count: 16), b = a, c = a
            #expect(infer_sample(model, 7, &a, 16) == 0 && infer_sample(model, 7, &b, 16) == 0 && infer_sample(model, 8, &c, 16) == 0)
            #expect(a == b && a != c && a.allSatisfy { $0 >= 0 && $0 <= 1 })
            // Density calls allocate nothing.
            let x = [Float](repeating: 0.5, count: 16)
            var density = 0.0
            malloc_counter_start()
            let status = infer_log_density(model, x, 16, &density)
            let calls = malloc_counter_stop()
            #expect(status == 0 && calls == 0 && density.isFinite, "\(calls) allocations")
            // Wrong lengths and NULLs are refused with a status.
            #expect(infer_log_density(model, x, 15, &density) == 7)
            #expect(infer_log_density(model, nil, 16, &density) == 1)
            #expect(infer_log_density(model, x, 16, nil) == 1)
        }
    }

    /// The C sampler draws z as the GAN's does and gives what the Swift sampling graph gives for it.
    @Test func cSamplesEqualTheSamplingGraphs() throws {
        var config = tinyFlow()
        (config.height, config.width) = (28, 28)
        let trainer = try FlowTrainer(config: config, trainingCount: 8)
        randomiseFlow(trainer, seed: 8)
        let weights = trainer.weights, file = try ModelWriter.encode(flow: config, weights: weights)
        let sampler = try FlowSampleGraph(config)
        let arena = try ArenaAllocator(capacity: try GraphExecutor.arenaBytes(graph: sampler.graph, options: PlanOptions(.inference, maxBatch: 1)))
        let e = try GraphExecutor(graph: sampler.graph, options: PlanOptions(.inference, maxBatch: 1), arena: arena)
        for id in sampler.graph.parameters + sampler.graph.values(.state) {
            _ = e.view(of: id).update(fromContentsOf: try #require(weights[sampler.graph.values[id.index].name]))
        }
        try withOpenedModel(file) { model in
            for seed: UInt64 in [1, 99] {
                var random = RandomGenerator(seed: seed)
                let z = e.view(of: sampler.latent)
                for i in 0..<config.pixels { z[i] = random.nextGaussian() }
                e.forward()
                let expected = Array(e.view(of: sampler.image).prefix(config.pixels))
                var out = [Float](repeating: .nan, count: config.pixels)
                #expect(infer_sample(model, seed, &out, out.count) == 0)
                let gap = zip(out, expected).map { abs($0 - $1) }.max()!
                #expect(gap <= 1e-5, "seed \(seed): C and the graph differ by \(gap)")
            }
        }
    }

    @Test func trainingLowersTheNegativeLogDensity() throws {
        var config = tinyFlow()
        (config.height, config.width, config.hidden, config.batch, config.learningRate) = (6, 6, 8, 8, 3e-3)
        let pixels = barImages(128, height: 6, width: 6, seed: 2), test = barImages(64, height: 6, width: 6, seed: 3)
        let trainer = try FlowTrainer(config: config, trainingCount: 128)
        let before = test.withUnsafeBufferPointer { trainer.evaluate(pixels: $0, count: 64) }
        var losses: [Float] = []
        try pixels.withUnsafeBufferPointer { p in
            trainer.initialiseAffine(pixels: p)
            for _ in 0..<8 { losses.append(try trainer.trainEpoch(pixels: p)) }
        }
        let after = test.withUnsafeBufferPointer { trainer.evaluate(pixels: $0, count: 64) }
        let bits = { FlowTrainer.bitsPerDimension(nll: $0, pixels: 36) }
        #expect(after < before - 36 * 0.5, "test bits/dim \(bits(before)) before training, \(bits(after)) after")
        #expect(losses.last! < losses.first!, "epoch losses \(losses)")
        // The affine initialisation alone already fits the pixels' marginals.
        let fresh = try FlowTrainer(config: config, trainingCount: 128)
        pixels.withUnsafeBufferPointer { fresh.initialiseAffine(pixels: $0) }
        let marginal = test.withUnsafeBufferPointer { fresh.evaluate(pixels: $0, count: 64) }
        #expect(marginal < before, "the affine initialisation: \(bits(marginal)) bits/dim against \(bits(before))")
    }

    @Test func sameSeedSameWeightsAndAResumedRunIsBitIdentical() throws {
        var config = tinyFlow()
        config.epochs = 3
        let pixels = barImages(16, height: 4, width: 4, seed: 9)
        func trainer(_ c: FlowConfig) throws -> FlowTrainer {
            let t = try FlowTrainer(config: c, trainingCount: 16)
            pixels.withUnsafeBufferPointer { t.initialiseAffine(pixels: $0) }
            return t
        }
        let straight = try trainer(config), again = try trainer(config)
        for t in [straight, again] { for _ in 0..<3 { _ = try pixels.withUnsafeBufferPointer { try t.trainEpoch(pixels: $0) } } }
        #expect(straight.weights == again.weights)
        var other = config
        other.seed += 1
        #expect(try trainer(other).weights != (try trainer(config)).weights)
        for split in 1...2 {
            let first = try trainer(config)
            for _ in 0..<split { _ = try pixels.withUnsafeBufferPointer { try first.trainEpoch(pixels: $0) } }
            let checkpoint = try FlowCheckpoint(decoding: try FlowCheckpoint(trainer: first).encoded())
            let second = try FlowTrainer(config: checkpoint.header.config, trainingCount: 16)
            try checkpoint.restore(into: second)
            #expect(second.epochs == split && second.steps == first.steps)
            while second.epochs < 3 { _ = try pixels.withUnsafeBufferPointer { try second.trainEpoch(pixels: $0) } }
            for ((name, a), (_, b)) in zip(straight.namedTensors, second.namedTensors) {
                #expect(Array(a) == Array(b), "resumed after epoch \(split): \(name)")
            }
            #expect(straight.random == second.random && straight.weights == second.weights)
        }
        let checkpoint = FlowCheckpoint(trainer: straight)
        #expect(throws: CheckpointError.self) { try checkpoint.restore(into: try FlowTrainer(config: config, trainingCount: 12)) }
        other = config
        other.hidden += 1
        #expect(throws: CheckpointError.self) { try checkpoint.restore(into: try FlowTrainer(config: other, trainingCount: 16)) }
        #expect(throws: CheckpointError.self) { try FlowCheckpoint(decoding: try GANCheckpoint(trainer: GANTrainer(config: tinyConfig(.js), trainingCount: 8)).encoded()) }
    }

    @Test func anEpochAllocatesNothingInAnExactArena() throws {
        var config = tinyFlow()
        (config.height, config.width, config.hidden, config.depth, config.batch) = (28, 28, 8, 2, 16)
        let pixels = randomImages(32, pixels: config.pixels, seed: 5)
        let trainer = try FlowTrainer(config: config, trainingCount: 32)
        try pixels.withUnsafeBufferPointer { p in
            trainer.initialiseAffine(pixels: p)
            _ = try trainer.trainEpoch(pixels: p) // warm-up: OpenBLAS's buffers, lazy globals
            var failure: Error?
            malloc_counter_start()
            do { _ = try trainer.trainEpoch(pixels: p) } catch { failure = error }
            _ = trainer.evaluate(pixels: p, count: 20)
            let calls = malloc_counter_stop()
            #expect(failure == nil)
            #expect(calls == 0, "\(calls) heap allocations in an epoch and an evaluation")
        }
        #expect(trainer.arena.highWaterMark == trainer.arena.capacity, "the arena is sized exactly")
        let file = try ModelWriter.encode(flow: config, weights: trainer.weights)
        try withOpenedModel(file) { model in
            var out = [Float](repeating: 0, count: config.pixels)
            _ = infer_sample(model, 1, &out, out.count)
            malloc_counter_start()
            let status = infer_sample(model, 2, &out, out.count)
            let calls = malloc_counter_stop()
            #expect(status == 0 && calls == 0, "\(calls) allocations in a sample")
        }
    }

    @Test func aDivergingFlowStopsWithAMessage() throws {
        var config = tinyFlow()
        config.learningRate = 1e30 // the first update makes the weights overflow
        let pixels = barImages(16, height: 4, width: 4, seed: 1)
        let trainer = try FlowTrainer(config: config, trainingCount: 16)
        var thrown: TrainingError?
        pixels.withUnsafeBufferPointer { p in
            for _ in 0..<3 where thrown == nil {
                do throws(TrainingError) { _ = try trainer.trainEpoch(pixels: p) } catch { thrown = error }
            }
        }
        guard case .nonFinite? = thrown else { Issue.record("no NaN was reported"); return }
    }

    /// A density input without its output, or a density output before the main one, is a corrupt file.
    @Test func aBrokenDensityEntryIsACorruptFile() throws {
        let config = tinyFlow()
        let trainer = try FlowTrainer(config: config, trainingCount: 8)
        let file = try ModelWriter.encode(flow: config, weights: trainer.weights)
        func seal(_ bytes: inout [UInt8]) {
            let crc = bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count - 4))) }
            for k in 0..<4 { bytes[bytes.count - 4 + k] = UInt8(truncatingIfNeeded: crc >> (8 * k)) }
        }
        let name = Array("density.nll".utf8)
        let at = try #require((0..<(file.count - name.count)).first { Array(file[$0..<($0 + name.count)]) == name })
        var renamed = file
        renamed[at + name.count - 1] = UInt8(ascii: "x")
        seal(&renamed)
        var needed = 0
        let status = renamed.withUnsafeBytes { infer_arena_size($0.baseAddress, renamed.count, &needed) }
        #expect(status == 2, "\(String(cString: infer_last_error()))")
        #expect(String(cString: infer_last_error()).contains("density"))
        // A GAN's file has no density entry.
        try withOpenedModel(file) { model in
            var density = 0.0
            #expect(infer_log_density(model, [Float](repeating: 0.5, count: 16), 16, &density) == 0)
        }
    }
}
