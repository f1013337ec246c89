import Testing
import Foundation
import Infer
import Training
import ModelFile
import InferC

private func png(_ name: String) -> String { fixtures.appendingPathComponent("png/" + name).path }

@Suite(.serialized) struct PNGInputTests {
    let trained = TrainedModel.shared

    /// The fixture digit is MNIST test image 0 (a 7) in every PNG encoding.
    static let sameInputVariants = ["gray8.png", "gray8-interlaced.png", "gray16.png", "gray-alpha8.png",
                                    "gray-alpha16-interlaced.png", "rgb8.png", "rgb16.png", "rgba8-interlaced.png",
                                    "rgba16.png", "palette8.png"]

    @Test func grayDigitOfInputSizeGoesInUnchanged() throws {
        let model = try OpenModel(trained.bytes)
        let result = model.classify(png: png("gray8.png"))
        #expect(result.status == 0)
        // Same output as running MNIST test image 0's pixels directly.
        let test = try MNISTDataset(directory: sampleDirectory).test
        let input = (0..<784).map { Float(test.pixels[$0]) * (1 / 255) }
        #expect(result.probabilities == model.run(input).output)
        #expect(result.label == Int32(Kernels.argmax(result.probabilities, count: 10)))
    }

    @Test(arguments: sameInputVariants)
    func everyEncodingOfTheDigitGivesTheSameResult(name: String) throws {
        let model = try OpenModel(trained.bytes)
        let reference = model.classify(png: png("gray8.png"))
        let result = model.classify(png: png(name))
        #expect(result.status == 0, "\(name): \(String(cString: infer_last_error()))")
        // Gray RGB, opaque alpha, 16-bit v·257 and palette all decode to the same gray bytes.
        #expect(result.label == reference.label)
        #expect(result.probabilities == reference.probabilities)
    }

    @Test(arguments: ["gray1.png", "gray4.png", "palette2-trns.png", "inverted-gray8.png", "large-rgb8.png", "transparent-rgba8.png"])
    func otherRenderingsOfTheDigitAreRecognised(name: String) throws {
        let model = try OpenModel(trained.bytes)
        let result = model.classify(png: png(name))
        #expect(result.status == 0, "\(name): \(String(cString: infer_last_error()))")
        #expect(result.label == 7, "\(name) classified as \(result.label)")
    }

    @Test(arguments: ["bad-not-png.png", "bad-empty.png", "bad-signature-only.png", "bad-truncated-header.png",
                      "bad-truncated-data.png", "bad-crc.png", "bad-huge.png", "bad-too-wide.png", "bad-zero-size.png",
                      "bad-depth.png", "bad-idat-garbage.png"])
    func brokenPNGsAreRefusedWithAnImageError(name: String) throws {
        let model = try OpenModel(trained.bytes)
        let fromFile = model.classify(png: png(name))
        #expect(fromFile.status == 6, "\(name) from file: \(fromFile.status) \(String(cString: infer_last_error()))")
        #expect(!String(cString: infer_last_error()).isEmpty)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: png(name))))
        var label: Int32 = -1
        let status = bytes.withUnsafeBytes { infer_classify_png_memory(model.handle, $0.baseAddress ?? UnsafeRawPointer(bitPattern: 1)!, bytes.count, &label, nil, 0) }
        #expect(status == 6, "\(name) from memory")
        if name == "bad-huge.png" || name == "bad-too-wide.png" {
            #expect(String(cString: infer_last_error()).contains("larger than the supported 1024x1024"))
        }
        // The model still works afterwards.
        #expect(model.classify(png: png("gray8.png")).status == 0)
    }

    @Test func missingFileIsAnIOError() throws {
        let model = try OpenModel(trained.bytes)
        #expect(model.classify(png: "/nonexistent/digit.png").status == 5)
        #expect(String(cString: infer_last_error()).contains("/nonexistent/digit.png"))
    }

    @Test func everyTruncationOfAGoodPNGFailsCleanly() throws {
        let model = try OpenModel(trained.bytes)
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: png("rgba8-interlaced.png"))))
        var label: Int32 = -1
        for length in 0..<bytes.count {
            let status = bytes.withUnsafeBytes { infer_classify_png_memory(model.handle, $0.baseAddress!, length, &label, nil, 0) }
            // The image data ends before IEND, so the last 12 bytes may be missing without harm.
            if length < bytes.count - 12 { #expect(status == 6, "truncated to \(length)") }
        }
    }

    /// The largest permitted image (1024x1024, 16-bit RGBA, interlaced) decodes within the fixed
    /// libpng budget that infer_arena_size counts.
    @Test func largestImageFitsTheDecoderBudget() throws {
        let model = try OpenModel(trained.bytes)
        let result = model.classify(png: png("max-rgba16-interlaced.png"))
        #expect(result.status == 0, "\(String(cString: infer_last_error()))")
        let runtime = UnsafeMutablePointer<RuntimeModel>(model.handle).pointee
        #expect(runtime.pngHeapHighWater > 0)
        #expect(runtime.pngHeapHighWater < RuntimeModel.pngHeapBytes / 2, "peak \(runtime.pngHeapHighWater)")
    }

    @Test func modelsWithoutImageInputRefusePNGs() throws {
        let spec = NetworkSpec.mlp(inputs: 4, hidden: [3], outputs: 2)
        let (network, _) = try { () throws -> (Network, Arena.ArenaAllocator) in
            let arena = try Arena.ArenaAllocator(capacity: spec.arenaBytes(maxBatch: 1))
            var rng = RandomGenerator(seed: 1)
            return (try Network(spec: spec, maxBatch: 1, arena: arena, rng: &rng), arena)
        }()
        let model = try OpenModel(try ModelWriter.encode(network: network, inputShape: (1, 1, 4), inputEncoding: .floats))
        #expect(model.classify(png: png("gray8.png")).status == 7)
        // No PNG scratch is reserved for it.
        #expect(model.arenaLength < 10_000)
    }
}

import LowLevel
import MNIST
import Arena
