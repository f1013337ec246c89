import Testing
import Foundation
import Arena
import CZlib
import Generative
import Graph
import InferC
import InferTools
import LowLevel
import MallocCounter
import ModelFile
import Training

/// A diffusion model's file: `infer_sample` runs the stored sampler over the U-Net exactly as a
/// Swift loop over the graph executor does, allocates nothing, and a broken diffusion entry is a
/// corrupt file.
@Suite(.serialized) struct DiffusionFileTests {
    init() { BLAS.configure(threads: 1) }

    /// The sample a Swift loop draws: x_T from the seed, then per step the embedding, the executor's
    /// ε̂ and `DiffusionStep` with the file's (float) ᾱ, x̂_0 clipped; the image is clamp((x + 1)/2).
    /// `lag` feeds the embedding of an earlier step (a deliberately wrong loop, which the
    /// comparison must tell apart).
    func reference(_ config: DiffusionConfig, weights: [String: [Float]], seed: UInt64, lag: Int = 0) throws -> [Float] {
        let network = try DiffusionNetwork(config, loss: false)
        let options = PlanOptions(.inference, maxBatch: 1)
        let arena = try ArenaAllocator(capacity: try GraphExecutor.arenaBytes(graph: network.graph, options: options))
        let e = try GraphExecutor(graph: network.graph, options: options, arena: arena)
        for id in network.graph.parameters {
            _ = e.view(of: id).update(fromContentsOf: try #require(weights[network.graph.values[id.index].name]))
        }
        let exact = DiffusionSchedule(config.schedule, steps: config.steps)
        // The file keeps ᾱ in single precision; the schedule below is what the runtime reads.
        let alphaBar = exact.alphaBar.map { Double(Float($0)) }
        var random = RandomGenerator(seed: seed)
        var x = (0..<config.pixels).map { _ in random.nextGaussian() }
        let sampler = config.diffusionSampler
        let times = sampler.times(exact)
        for (i, t) in times.enumerated() {
            DiffusionNetwork.timestepEmbedding(max(t - lag, 1), into: e.view(of: network.time).baseAddress!, features: config.embedding)
            _ = e.view(of: network.noisy).update(fromContentsOf: x)
            e.forward()
            let epsilon = Array(e.view(of: network.prediction).prefix(config.pixels))
            x.withUnsafeMutableBufferPointer { buffer in
                switch sampler {
                case .ancestral:
                    DiffusionStep.ancestral(buffer.baseAddress!, count: buffer.count, epsilon: epsilon, alphaBar: alphaBar[t],
                                            previous: alphaBar[t - 1], last: t == 1, clip: true, random: &random)
                case .ode:
                    let next = i + 1 < times.count ? times[i + 1] : 0
                    DiffusionStep.ode(buffer.baseAddress!, count: buffer.count, epsilon: epsilon, alphaBar: alphaBar[t], target: alphaBar[next], clip: true)
                }
            }
        }
        return x.map { min(max(($0 + 1) / 2, 0), 1) }
    }

    @Test(arguments: [DiffusionConfig.SamplerKind.ode, .ancestral])
    func cSamplesFollowTheStoredSampler(_ kind: DiffusionConfig.SamplerKind) throws {
        var config = tinyDiffusion()
        // 8 channels: with tinyDiffusion's 4, every unit of the last ReLU may start dead, and then
        // ε̂ is a constant that hides mistakes in the loop.
        (config.sampler, config.sampleSteps, config.steps, config.channels) = (kind, 7, 20, 8)
        // Trained a little, so that samples are not all clamped to 0 and 1.
        let trainer = try DiffusionTrainer(config: config, trainingCount: 128)
        let pixels = randomImages(128, pixels: 64, seed: 3)
        for _ in 0..<20 { _ = try pixels.withUnsafeBufferPointer { try trainer.trainEpoch(pixels: $0) } }
        let weights = trainer.weights, file = try ModelWriter.encode(diffusion: config, weights: weights)
        try withOpenedModel(file) { model in
            #expect(infer_input_len(model) == 64 && infer_output_len(model) == 64)
            for seed: UInt64 in [1, 12] {
                let expected = try reference(config, weights: weights, seed: seed)
                var out = [Float](repeating: .nan, count: 64)
                #expect(infer_sample(model, seed, &out, 64) == 0, "\(String(cString: infer_last_error()))")
                let gap = zip(out, expected).map { abs($0 - $1) }.max()!
                #expect(gap < 1e-4, "\(kind), seed \(seed): C and the Swift loop differ by \(gap)")
                #expect(out.allSatisfy { $0 >= 0 && $0 <= 1 })
                let wrong = try reference(config, weights: weights, seed: seed, lag: 1)
                let miss = zip(out, wrong).map { abs($0 - $1) }.max()!
                #expect(miss > 1e-2, "\(kind): a loop off by one step differs by only \(miss)")
            }
            var a = [Float](repeating: 0, count: 64), b = a, c = a
            #expect(infer_sample(model, 5, &a, 64) == 0 && infer_sample(model, 5, &b, 64) == 0 && infer_sample(model, 6, &c, 64) == 0)
            #expect(a == b && a != c, "the same seed gives the same sample, another seed another")
            var density = 0.0
            #expect(infer_log_density(model, a, 64, &density) == 7, "a diffusion model has no exact density")
        }
    }

    @Test func aSampleAllocatesNothing() throws {
        var config = tinyDiffusion()
        (config.height, config.width, config.sampleSteps) = (28, 28, 5)
        let trainer = try DiffusionTrainer(config: config, trainingCount: 8)
        let file = try ModelWriter.encode(diffusion: config, weights: trainer.weights)
        try withOpenedModel(file) { model in
            var out = [Float](repeating: 0, count: config.pixels)
            _ = infer_sample(model, 1, &out, out.count)
            let path = NSTemporaryDirectory() + "diffusion-\(UUID().uuidString).png"
            defer { try? FileManager.default.removeItem(atPath: path) }
            _ = path.withCString { infer_sample_png(model, 1, $0) }
            let calls = path.withCString { p -> Int in
                malloc_counter_start()
                let a = infer_sample(model, 2, &out, out.count), b = infer_sample_png(model, 2, p)
                let calls = malloc_counter_stop()
                #expect(a == 0 && b == 0)
                return Int(calls)
            }
            #expect(calls == 0, "\(calls) allocations in a sample and a PNG")
        }
    }

    /// Each part of the diffusion entry is checked when the file is opened.
    @Test func aBrokenDiffusionEntryIsACorruptFile() throws {
        var config = tinyDiffusion()
        config.sampleSteps = 10
        let trainer = try DiffusionTrainer(config: config, trainingCount: 8)
        let file = try ModelWriter.encode(diffusion: config, weights: trainer.weights)
        func seal(_ bytes: inout [UInt8]) {
            let crc = bytes.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count - 4))) }
            for k in 0..<4 { bytes[bytes.count - 4 + k] = UInt8(truncatingIfNeeded: crc >> (8 * k)) }
        }
        func find(_ pattern: [UInt8], in bytes: [UInt8]) throws -> Int {
            try #require((0...(bytes.count - pattern.count)).first { Array(bytes[$0..<($0 + pattern.count)]) == pattern })
        }
        func floats(_ values: [Float]) -> [UInt8] { values.flatMap { v in withUnsafeBytes(of: v.bitPattern.littleEndian) { Array($0) } } }
        func opens(_ bytes: [UInt8]) -> (status: Int32, message: String) {
            var needed = 0
            let status = bytes.withUnsafeBytes { infer_arena_size($0.baseAddress, bytes.count, &needed) }
            return (status, String(cString: infer_last_error()))
        }
        #expect(opens(file).status == 0)
        var broken: [(String, [UInt8])] = []
        for name in ["diffusion.alpha_bar", "diffusion.embedding", "diffusion.sampler"] {
            var renamed = file
            renamed[try find(Array(name.utf8), in: file) + name.count - 1] = UInt8(ascii: "x")
            broken.append((name, renamed))
        }
        let schedule = DiffusionSchedule(config.schedule, steps: config.steps).alphaBar.map { Float($0) }
        var swapped = file
        let at = try find(floats([schedule[1], schedule[2]]), in: file)
        swapped.replaceSubrange(at..<(at + 8), with: floats([schedule[2], schedule[1]]))
        broken.append(("an increasing ᾱ", swapped))
        var notANumber = file
        notANumber.replaceSubrange(at..<(at + 4), with: floats([.nan]))
        broken.append(("a NaN in ᾱ", notANumber))
        for (what, settings) in [("an unknown sampler", [Float(3), 10, 1]), ("too many ODE steps", [2, 51, 1]), ("a fractional step count", [2, 2.5, 1]),
                                 ("ancestral sampling over part of the steps", [1, 10, 1]), ("an unknown clipping", [2, 10, 0.5])] {
            var changed = file
            let s = try find(floats([2, 10, 1]), in: file)
            changed.replaceSubrange(s..<(s + 12), with: floats(settings))
            broken.append((what, changed))
        }
        for (what, var bytes) in broken {
            seal(&bytes)
            let (status, message) = opens(bytes)
            #expect(status == 2 && message.contains("diffusion"), "\(what): status \(status), \(message)")
        }
    }

    @Test func aResumedRunIsBitIdentical() throws {
        var config = tinyDiffusion()
        config.epochs = 3
        let pixels = barImages(16, height: 8, width: 8, seed: 9)
        let straight = try DiffusionTrainer(config: config, trainingCount: 16)
        for _ in 0..<3 { _ = try pixels.withUnsafeBufferPointer { try straight.trainEpoch(pixels: $0) } }
        for split in 1...2 {
            let first = try DiffusionTrainer(config: config, trainingCount: 16)
            for _ in 0..<split { _ = try pixels.withUnsafeBufferPointer { try first.trainEpoch(pixels: $0) } }
            let checkpoint = try DiffusionCheckpoint(decoding: try DiffusionCheckpoint(trainer: first).encoded())
            let second = try DiffusionTrainer(config: checkpoint.header.config, trainingCount: 16)
            try checkpoint.restore(into: second)
            #expect(second.epochs == split && second.steps == first.steps)
            while second.epochs < 3 { _ = try pixels.withUnsafeBufferPointer { try second.trainEpoch(pixels: $0) } }
            for ((name, a), (_, b)) in zip(straight.namedTensors, second.namedTensors) {
                #expect(Array(a) == Array(b), "resumed after epoch \(split): \(name)")
            }
            #expect(straight.random == second.random)
        }
        let checkpoint = DiffusionCheckpoint(trainer: straight)
        #expect(throws: CheckpointError.self) { try checkpoint.restore(into: try DiffusionTrainer(config: config, trainingCount: 12)) }
        var other = config
        other.channels += 1
        #expect(throws: CheckpointError.self) { try checkpoint.restore(into: try DiffusionTrainer(config: other, trainingCount: 16)) }
        #expect(throws: CheckpointError.self) { try DiffusionCheckpoint(decoding: try FlowCheckpoint(trainer: FlowTrainer(config: tinyFlow(), trainingCount: 8)).encoded()) }
    }
}

