import Foundation
@_exported import TestSupport
import Arena
import Infer
import Training
import ModelFile
import InferTools
import InferC
import LowLevel
import MNIST


/// A network trained on the bundled sample (a few seconds) and its model file, shared by the tests.
class TrainedOnSample: @unchecked Sendable {
    let run: TrainingRun
    /// Its model file as export writes it (version 2), and as version 1.
    let bytes: [UInt8]
    let versionOneBytes: [UInt8]
    let test: ClassificationSet

    init(spec: NetworkSpec, epochs: Int, batch: Int, seed: UInt64) throws {
        BLAS.configure(threads: 1)
        let sample = try MNISTDataset(directory: sampleDirectory)
        let train = ClassificationSet(images: sample.train)
        test = ClassificationSet(images: sample.test)
        let config = TrainingConfig(epochs: epochs, batchSize: batch, learningRate: 0.05, schedule: .constant,
                                    optimizer: OptimizerConfig(kind: .momentum), seed: seed)
        run = try TrainingRun(spec: spec, config: config, sampleCount: train.count)
        _ = try run.run(train: train, test: nil, measureTrainAccuracy: false)
        bytes = try ModelWriter.encode(network: run.network, inputShape: (1, 28, 28), inputEncoding: .pixels)
        versionOneBytes = try ModelWriter.encode(network: run.network, inputShape: (1, 28, 28), inputEncoding: .pixels, version: 1)
    }

    /// Suites run in parallel and a network's forward pass writes its own buffers: every use of
    /// the shared network goes through this lock.
    private let lock = NSLock()

    /// The Swift network's logits for one input.
    func swiftLogits(_ input: [Float]) -> [Float] { lock.withLock { swiftOutput(run.network, input) } }

    /// The Swift network's accuracy on `set` (batched evaluation).
    func swiftAccuracy(_ set: ClassificationSet) -> Double { lock.withLock { run.trainer.evaluate(set).accuracy } }

    /// Writes the trainer's checkpoint.
    func writeCheckpoint(to path: String) throws { try lock.withLock { try Checkpoint(trainer: run.trainer).write(to: path) } }
}

/// MLP 784-64-10.
final class TrainedModel: TrainedOnSample, @unchecked Sendable {
    static let shared = try! TrainedModel(spec: .mlp(inputs: 784, hidden: [64], outputs: 10), epochs: 4, batch: 32, seed: 3)
}

/// LeNet-5.
final class TrainedLeNet: TrainedOnSample, @unchecked Sendable {
    static let shared = try! TrainedLeNet(spec: .lenet(), epochs: 2, batch: 32, seed: 4)
}

/// Model bytes and an arena in malloc'd memory, opened through the C interface, as C code would.
/// Sendable for the concurrency test: one instance is only ever used by one thread at a time.
final class OpenModel: @unchecked Sendable {
    let modelBytes: UnsafeMutableRawBufferPointer
    let arena: UnsafeMutableRawBufferPointer
    let handle: OpaquePointer
    let arenaLength: Int

    init(_ bytes: [UInt8], misalignBy shift: Int = 0) throws {
        modelBytes = .allocate(byteCount: bytes.count + shift, alignment: 64)
        let start = modelBytes.baseAddress! + shift
        bytes.withUnsafeBytes { start.copyMemory(from: $0.baseAddress!, byteCount: bytes.count) }
        var needed = 0
        guard infer_arena_size(start, bytes.count, &needed) == 0 else { throw RuntimeTestError(String(cString: infer_last_error())) }
        arenaLength = needed
        arena = .allocate(byteCount: needed, alignment: 16)
        var out: OpaquePointer?
        guard infer_open(start, bytes.count, arena.baseAddress, needed, &out) == 0, let out else {
            throw RuntimeTestError(String(cString: infer_last_error()))
        }
        handle = out
    }

    deinit {
        modelBytes.deallocate()
        arena.deallocate()
    }

    func run(_ input: [Float]) -> (status: Int32, output: [Float]) {
        var output = [Float](repeating: .nan, count: infer_output_len(handle))
        let status = infer_run(handle, input, input.count, &output, output.count)
        return (status, output)
    }

    func classify(png path: String) -> (status: Int32, label: Int32, probabilities: [Float]) {
        var label: Int32 = -1
        var probabilities = [Float](repeating: .nan, count: infer_output_len(handle))
        let status = infer_classify_png(handle, path, &label, &probabilities, probabilities.count)
        return (status, label, probabilities)
    }
}

struct RuntimeTestError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

/// Pixels of test sample `i` as floats in [0, 1].
func testInput(_ set: ClassificationSet, _ i: Int) -> [Float] {
    guard case .bytes(let pixels, let scale) = set.features else { return [] }
    return (0..<set.featureCount).map { Float(pixels[i * set.featureCount + $0]) * scale }
}

/// The Swift network's prediction for one sample, at batch size 1.
func swiftOutput(_ network: Network, _ input: [Float]) -> [Float] {
    var x = input
    return x.withUnsafeMutableBufferPointer { Array(network.forward(Matrix($0, rows: 1, columns: input.count)).buffer) }
}
