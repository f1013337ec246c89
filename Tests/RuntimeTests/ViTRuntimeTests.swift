import Testing
import Foundation
import Infer
import InferC
import LowLevel
import MallocCounter
import MNIST
import ModelFile
import Training

/// A trained vision transformer as a version-2 model file, run by the C runtime: its class
/// probabilities are the executor's softmax for every sample test digit, it classifies a PNG
/// digit, and neither call allocates.
@Suite(.serialized) struct ViTRuntimeTests {
    init() { BLAS.configure(threads: 1) }

    @Test func cInterfaceGivesTheExecutorsProbabilitiesAndClassifiesPNGs() throws {
        let data = try MNISTDataset(directory: sampleDirectory)
        var shape = ViTConfig()
        (shape.features, shape.layers, shape.heads) = (32, 2, 2)
        var config = ViTTrainingConfig()
        (config.epochs, config.batch, config.warmup) = (2, 32, 10)
        let trainer = try ViTTrainer(vit: try ViTGraph(shape), config: config, trainingCount: data.train.count)
        try data.train.pixels.withUnsafeBufferPointer { pixels in
            try data.train.labels.withUnsafeBufferPointer { labels in
                for _ in 0..<2 { _ = try trainer.trainEpoch(pixels: pixels, labels: labels) }
            }
        }
        let model = try OpenModel(try ModelWriter.encode(vit: trainer))
        #expect(infer_input_len(model.handle) == 784 && infer_output_len(model.handle) == 10)
        let executor = trainer.executor
        executor.rows = 1
        defer { executor.rows = config.batch }
        var worst: Float = 0
        for i in 0..<data.test.count {
            let input = (0..<784).map { Float(data.test.pixels[i * 784 + $0]) * (1 / 255) }
            _ = executor.view(of: trainer.vit.images).update(fromContentsOf: input)
            executor.forward(training: false)
            var expected = Array(executor.view(of: trainer.vit.logits))
            Kernels.softmaxRows(expected, into: &expected, rows: 1, columns: 10)
            let output = model.run(input).output
            worst = max(worst, zip(output, expected).map { abs($0 - $1) }.max()!)
        }
        #expect(worst <= 1e-6, "largest probability difference from the executor: \(worst)")

        let png = try [UInt8](Data(contentsOf: fixtures.appendingPathComponent("png/gray8.png")))
        var label: Int32 = -1, probabilities = [Float](repeating: 0, count: 10), output = [Float](repeating: 0, count: 10)
        #expect(infer_classify_png_memory(model.handle, png, png.count, &label, &probabilities, 10) == 0)
        #expect(Int(label) == Kernels.argmax(probabilities, count: 10) && abs(probabilities.reduce(0, +) - 1) < 1e-5)
        let input = (0..<784).map { Float(data.test.pixels[$0]) * (1 / 255) }
        var status: Int32 = 0
        func work() {
            status |= infer_run(model.handle, input, 784, &output, 10)
            status |= infer_classify_png_memory(model.handle, png, png.count, &label, &probabilities, 10)
        }
        work()
        malloc_counter_start()
        for _ in 0..<10 { work() }
        let calls = malloc_counter_stop()
        #expect(status == 0 && calls == 0, "\(calls) allocations")
    }
}
