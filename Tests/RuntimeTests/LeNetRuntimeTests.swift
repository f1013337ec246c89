import Testing
import Foundation
import Infer
import Training
import ModelFile
import InferC
import InferTools
import LowLevel
import MallocCounter
import MNIST

@Suite(.serialized) struct LeNetRuntimeTests {
    let lenet = TrainedLeNet.shared

    @Test func cInterfaceGivesTheSwiftOutputsForEveryTestDigit() throws {
        let model = try OpenModel(lenet.bytes)
        #expect(infer_input_len(model.handle) == 784 && infer_output_len(model.handle) == 10)
        var correct = 0
        for i in 0..<lenet.test.count {
            let input = testInput(lenet.test, i)
            let output = model.run(input).output
            var expected = lenet.swiftLogits(input)
            Kernels.softmaxRows(expected, into: &expected, rows: 1, columns: 10)
            #expect(output == expected, "sample \(i)")
            if Kernels.argmax(output, count: 10) == Int(lenet.test.labels[i]) { correct += 1 }
        }
        #expect(Double(correct) / Double(lenet.test.count) > 0.8)
    }

    @Test func classifiesPNGDigitsAndAllocatesNothing() throws {
        let model = try OpenModel(lenet.bytes)
        let png = try [UInt8](Data(contentsOf: fixtures.appendingPathComponent("png/gray8.png")))
        var label: Int32 = -1
        var probabilities = [Float](repeating: 0, count: 10)
        #expect(infer_classify_png_memory(model.handle, png, png.count, &label, &probabilities, 10) == 0)
        #expect(label == 7)
        let input = testInput(lenet.test, 0)
        var output = [Float](repeating: 0, count: 10)
        var status: Int32 = 0
        func work() {
            status |= infer_run(model.handle, input, 784, &output, 10)
            status |= infer_classify_png_memory(model.handle, png, png.count, &label, &probabilities, 10)
        }
        work()
        malloc_counter_start()
        for _ in 0..<50 { work() }
        let calls = malloc_counter_stop()
        #expect(status == 0 && calls == 0, "\(calls) allocations")
    }

    @Test func inspectDescribesTheConvolutions() throws {
        try lenet.versionOneBytes.withUnsafeBytes { raw in
            let file = try ModelFile(base: raw.baseAddress!, length: raw.count)
            // conv, relu, pool, conv, relu, pool, dense, relu, dense, relu, dense (flatten writes nothing)
            #expect(file.layerCount == 11)
            #expect(file.layer(0).kind == .conv2d && file.layer(2).kind == .maxPool)
            #expect(file.maxColumns > 0)
        }
        try lenet.bytes.withUnsafeBytes { raw in
            let file = try ModelFile(base: raw.baseAddress!, length: raw.count)
            // conv+relu, pool, conv+relu, pool, flatten, dense, relu, dense, relu, dense
            let ops = (0..<file.layerCount).map { file.node($0).op }
            #expect(ops == [.conv2d, .maxPool2d, .conv2d, .maxPool2d, .reshape, .dense, .relu, .dense, .relu, .dense])
            #expect(file.argument(file.node(0), "relu")?.int(0) == 1)
            #expect(file.maxColumns > 0)
        }
    }
}

@Suite(.serialized) struct LeNetTrainingAllocationTests {
    @Test(arguments: OptimizerConfig.Kind.allCases)
    func leNetTrainingStepsAllocateNothing(optimizer: OptimizerConfig.Kind) throws {
        BLAS.configure(threads: 1)
        let data = ClassificationSet(images: try MNISTDataset(directory: sampleDirectory).train.prefix(256))
        let config = TrainingConfig(epochs: 3, batchSize: 64, learningRate: 0.01, schedule: .constant,
                                    optimizer: OptimizerConfig(kind: optimizer, weightDecay: 1e-4), seed: 1)
        let run = try TrainingRun(spec: .lenet(), config: config, sampleCount: data.count)
        var failure: TrainingError? = nil
        func epoch() {
            do throws(TrainingError) { _ = try run.trainer.trainEpoch(on: data) } catch { failure = error }
        }
        epoch()
        malloc_counter_start()
        epoch()
        let calls = malloc_counter_stop()
        #expect(failure == nil)
        #expect(calls == 0, "\(calls) heap allocations in a LeNet epoch")
    }
}

@Suite struct BatchNormFoldingTests {
    /// A trained network with batch norm after a convolution and after a dense layer, exported
    /// with the statistics folded in, gives the evaluation-mode outputs through the C interface.
    @Test func foldedModelMatchesEvaluationMode() throws {
        BLAS.configure(threads: 1)
        let data = ClassificationSet(images: try MNISTDataset(directory: sampleDirectory).train.prefix(320))
        let spec = NetworkSpec(inputShape: Shape3(channels: 1, height: 28, width: 28), layers: try LayerList.parse(
            "conv:4,3x3,p=1 bn relu maxpool:2 dropout:0.2 flatten dense:16 bn relu dense:10"))
        let config = TrainingConfig(epochs: 2, batchSize: 32, learningRate: 0.05, schedule: .constant,
                                    optimizer: OptimizerConfig(kind: .momentum), seed: 3)
        let run = try TrainingRun(spec: spec, config: config, sampleCount: data.count)
        _ = try run.run(train: data, test: nil, measureTrainAccuracy: false)
        let bytes = try ModelWriter.encode(network: run.network, inputShape: (1, 28, 28), inputEncoding: .pixels)
        try ModelWriter.encode(network: run.network, inputShape: (1, 28, 28), inputEncoding: .pixels, version: 1).withUnsafeBytes { raw in
            let file = try ModelFile(base: raw.baseAddress!, length: raw.count)
            // conv(+bn), relu, pool, dense(+bn), relu, dense: batch norm and dropout write no layer.
            #expect(file.layerCount == 6)
        }
        try bytes.withUnsafeBytes { raw in
            let file = try ModelFile(base: raw.baseAddress!, length: raw.count)
            // conv(+bn), relu, pool, flatten, dense(+bn), relu, dense: batch norm folded into the node before.
            #expect((0..<file.layerCount).map { file.node($0).op } == [.conv2d, .relu, .maxPool2d, .reshape, .dense, .relu, .dense])
        }
        let model = try OpenModel(bytes)
        for i in 0..<20 {
            let input = testInput(data, i)
            var expected = swiftOutput(run.network, input)
            Kernels.softmaxRows(expected, into: &expected, rows: 1, columns: 10)
            let output = model.run(input).output
            for k in 0..<10 { #expect(abs(output[k] - expected[k]) < 1e-4, "sample \(i) class \(k)") }
        }
    }
}
