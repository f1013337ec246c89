import Foundation
import Testing
import Arena
import Classic
import Infer
import Training
import ModelFile
import InferC
import LowLevel
import MallocCounter
import MNIST

/// Classic models trained on MNIST digits classify PNG files through the C interface, and their
/// training loops allocate a fixed amount, whatever the number of steps.
@Suite(.serialized) struct ClassicPNGAndMemoryTests {
    init() { BLAS.configure(threads: 1) }

    static let sample = packageRoot.appendingPathComponent("Sources/train/Resources/mnist-sample").path
    static let digit = packageRoot.appendingPathComponent("Tests/Fixtures/png/gray8.png").path // test image 0, a 7

    @Test func mnistClassicModelsClassifyAPNGLikeSwift() throws {
        let data = try MNISTDataset(directory: Self.sample)
        let arena = try ArenaAllocator(capacity: 64 << 20)
        let train = try SampleSet(images: data.train, arena: arena)
        let test = try SampleSet(images: data.test, limit: 1, arena: arena)
        var perceptron = Perceptron.Settings()
        perceptron.maxPasses = 10
        let models: [any TrainedModel] = [
            try NearestNeighbours.fit(train, k: 3, arena: arena),
            try SoftmaxRegression.fit(train, settings: SoftmaxRegression.defaultSettings(samples: 1_000_000), arena: arena),
            try Perceptron.fit(train, settings: perceptron, arena: arena),
        ]
        for model in models {
            let bytes = try ModelWriter.encode(stages: model.stages, description: ModelWriter.Description(
                inputShape: (1, 28, 28), outputKind: model.outputKind, inputEncoding: .pixels))
            var needed = 0
            try #require(infer_arena_size(bytes, bytes.count, &needed) == 0)
            let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: needed, alignment: 16)
            defer { memory.deallocate() }
            var handle: OpaquePointer?
            try #require(infer_open(bytes, bytes.count, memory.baseAddress, needed, &handle) == 0)
            var label: Int32 = -1
            var outputs = [Float](repeating: 0, count: 10)
            try #require(infer_classify_png(handle, Self.digit, &label, &outputs, 10) == 0, "\(String(cString: infer_last_error()))")
            var swift = [Float](repeating: 0, count: 10)
            swift.withUnsafeMutableBufferPointer { model.predict(test.features.row(0), into: $0.baseAddress!) }
            #expect(label == Int32(Kernels.argmax(swift, count: 10)), "\(type(of: model))")
            #expect(label == 7, "\(type(of: model)) read the 7 as \(label)")
            for j in 0..<10 { #expect(abs(outputs[j] - swift[j]) <= 1e-4 * max(1, abs(swift[j]))) }
        }
    }

    /// Heap allocations during `LinearModelTrainer.train` do not grow with the number of steps:
    /// every buffer a step uses comes from the arena.
    @Test func gradientTrainingAllocatesTheSameForTenOrAHundredEpochs() throws {
        let arena = try ArenaAllocator(capacity: 16 << 20)
        var rng = RandomGenerator(seed: 1)
        let n = 200, d = 20
        let data = try SampleSet(values: (0..<(n * d)).map { _ in rng.nextGaussian() }, rows: n, columns: d,
                                 labels: (0..<n).map { Int32($0 % 3) }, classCount: 3, arena: arena)
        func mallocs(epochs: Int, loss: LinearModelTrainer.Loss) throws -> UInt64 {
            var s = LinearModelTrainer.Settings()
            s.epochs = epochs; s.batchSize = 16; s.averaging = true
            malloc_counter_start()
            _ = try LinearModelTrainer.train(data.features, targets: .classes(data.labels.baseAddress!), columns: 3, loss: loss,
                                             settings: s, arena: arena)
            return malloc_counter_stop()
        }
        for loss in [LinearModelTrainer.Loss.softmax, .hinge, .logistic] {
            _ = try mallocs(epochs: 1, loss: loss) // warm-up
            let few = try mallocs(epochs: 10, loss: loss), many = try mallocs(epochs: 100, loss: loss)
            #expect(few == many, "\(loss): \(few) vs \(many) allocations")
            #expect(many <= 8)
        }
    }
}
