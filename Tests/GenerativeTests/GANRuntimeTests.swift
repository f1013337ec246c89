import Testing
import Foundation
import CPNG
import CZlib
import Generative
import Infer
import InferC
import LowLevel
import MallocCounter
import ModelFile

/// A trained GAN's generator as a model file, run through the C interface.
@Suite(.serialized) struct GANRuntimeTests {
    nonisolated(unsafe) static let trained: (trainer: GANTrainer, file: [UInt8]) = {
        BLAS.configure(threads: 1)
        var config = tinyConfig(.js)
        (config.height, config.width, config.latent, config.batch) = (28, 28, 8, 16)
        config.generatorHidden = [32, 48]
        config.discriminatorHidden = [24]
        let pixels = randomImages(64, pixels: config.pixels, seed: 9)
        let trainer = try! GANTrainer(config: config, trainingCount: 64)
        _ = try! pixels.withUnsafeBufferPointer { try trainer.trainEpoch(pixels: $0) }
        return (trainer, try! ModelWriter.encode(gan: trainer))
    }()

    func open(_ bytes: [UInt8], _ body: (OpaquePointer) throws -> Void) throws { try withOpenedModel(bytes, body) }

    /// What the trainer's own generator gives for z drawn from `seed` (one sample, evaluation).
    func swiftSample(seed: UInt64, of trainer: GANTrainer = Self.trained.trainer) -> [Float] {
        let g = trainer.generator
        g.rows = 1
        var random = RandomGenerator(seed: seed)
        let z = g.view(of: trainer.generatorGraph.latent)
        for i in 0..<trainer.config.latent { z[i] = random.nextGaussian() }
        g.forward(training: false)
        defer { g.rows = trainer.config.batch }
        return Array(g.view(of: trainer.generatorGraph.image).prefix(trainer.config.pixels))
    }

    @Test func cSamplesEqualSwiftsBitForBit() throws {
        try open(Self.trained.file) { model in
            #expect(infer_input_len(model) == 8 && infer_output_len(model) == 784)
            for seed: UInt64 in [0, 1, 12345] {
                var out = [Float](repeating: .nan, count: 784)
                #expect(infer_sample(model, seed, &out, out.count) == 0)
                #expect(out == swiftSample(seed: seed), "seed \(seed)")
                #expect(out.allSatisfy { $0 >= 0 && $0 <= 1 })
            }
            var a = [Float](repeating: 0, count: 784), b = a
            _ = infer_sample(model, 5, &a, 784)
            _ = infer_sample(model, 6, &b, 784)
            #expect(a != b, "different seeds give different samples")
        }
    }

    /// With batch norm (folded into the dense layers on export), dropout in the discriminator and
    /// a moving average, the file samples what the trainer's generator gives with the exported
    /// weights in evaluation mode (to rounding: folding reorders the arithmetic).
    @Test func aFoldedAveragedGeneratorSamplesWhatTheTrainerExports() throws {
        var config = tinyConfigWithNormAndDropout()
        (config.height, config.width, config.latent, config.batch) = (28, 28, 8, 16)
        config.generatorHidden = [32, 48]
        config.discriminatorHidden = [24]
        config.generatorAverage = 0.9
        let pixels = randomImages(64, pixels: config.pixels, seed: 14)
        let trainer = try GANTrainer(config: config, trainingCount: 64)
        for _ in 0..<2 { _ = try pixels.withUnsafeBufferPointer { try trainer.trainEpoch(pixels: $0) } }
        let file = try ModelWriter.encode(gan: trainer), weights = trainer.generatorWeights
        let graph = trainer.generatorGraph.graph
        for id in graph.parameters + graph.values(.state) {
            _ = trainer.generator.view(of: id).update(fromContentsOf: try #require(weights[graph.values[id.index].name]))
        }
        // Unfolded, the four batch-norm tensors of 32 + 48 channels would add 1,280 bytes.
        #expect(file.count - Self.trained.file.count < 4 * 4 * 80, "\(file.count) bytes against \(Self.trained.file.count) without batch norm")
        try open(file) { model in
            for seed: UInt64 in [0, 2, 999] {
                var out = [Float](repeating: .nan, count: 784)
                #expect(infer_sample(model, seed, &out, out.count) == 0)
                let expected = swiftSample(seed: seed, of: trainer)
                let gap = zip(out, expected).map { abs($0 - $1) }.max()!
                #expect(gap <= 2e-5, "seed \(seed): the file and the trainer differ by \(gap)")
            }
        }
    }

    @Test func aSamplePNGHoldsTheSampleAndAllocatesNothing() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("gan-png-\(getpid())").path
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try open(Self.trained.file) { model in
            let path = directory + "/s.png"
            #expect(infer_sample_png(model, 3, path) == 0, "\(String(cString: infer_last_error()))")
            let (status, calls) = path.withCString { cPath in
                malloc_counter_start()
                let status = infer_sample_png(model, 4, cPath)
                return (status, malloc_counter_stop())
            }
            #expect(status == 0 && calls == 0, "\(calls) allocations")
            // Decode it back: 28×28 gray bytes, round(255·pixel) of seed 4's sample.
            let heap = UnsafeMutablePointer<UInt8>.allocate(capacity: 1 << 20), pixels = UnsafeMutablePointer<UInt8>.allocate(capacity: 2 * 64 * 64)
            let rows = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>.allocate(capacity: 64), io = UnsafeMutablePointer<UInt8>.allocate(capacity: 4096)
            defer { heap.deallocate(); pixels.deallocate(); rows.deallocate(); io.deallocate() }
            var h = cpng_heap(base: heap, capacity: 1 << 20, used: 0, high_water: 0, last_offset: 0)
            var target = cpng_target(pixels: pixels, rows: rows, max_width: 64, max_height: 64, io_buffer: io, io_capacity: 4096)
            var result = cpng_result()
            #expect(cpng_decode_file(path, &h, &target, &result) == CPNG_OK)
            #expect(result.width == 28 && result.height == 28 && result.source_color_type == 0 && result.source_bit_depth == 8)
            let expected = swiftSample(seed: 4).map(RuntimeModel.byte)
            #expect(Array(UnsafeBufferPointer(start: pixels, count: 784)) == expected)
            #expect(!FileManager.default.fileExists(atPath: path + ".tmp"))
            // An unwritable place is an I/O error with a message, and leaves nothing behind.
            #expect(infer_sample_png(model, 4, directory + "/missing/s.png") == 5)
            #expect(String(cString: infer_last_error()).contains("cannot create"))
        }
    }

    @Test func otherModelsAndBadArgumentsAreRefused() throws {
        try open(Self.trained.file) { model in
            var out = [Float](repeating: 0, count: 784), density = 0.0
            #expect(infer_sample(model, 1, &out, 783) == 7)
            #expect(infer_sample(model, 1, nil, 784) == 1)
            #expect(infer_sample(nil, 1, &out, 784) == 1)
            #expect(infer_sample_png(model, 1, nil) == 1)
            #expect(infer_log_density(model, out, 784, &density) == 7, "a GAN has no exact density")
            #expect(infer_log_density(model, nil, 784, &density) == 1)
            // infer_run maps a given z to its image.
            var z = [Float](repeating: 0, count: 8), image = out
            #expect(infer_run(model, &z, 8, &image, 784) == 0)
        }
        // The same graph marked as taking plain floats draws no samples.
        var plain = Self.trained.file
        plain[84] = 0
        let crc = plain.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count - 4))) }
        for k in 0..<4 { plain[plain.count - 4 + k] = UInt8(truncatingIfNeeded: crc >> (8 * k)) }
        try open(plain) { model in
            var out = [Float](repeating: 0, count: 784)
            #expect(infer_sample(model, 1, &out, 784) == 7)
            #expect(infer_sample_png(model, 1, "/tmp/never.png") == 7)
            #expect(String(cString: infer_last_error()).contains("not a generative model"))
        }
    }
}
