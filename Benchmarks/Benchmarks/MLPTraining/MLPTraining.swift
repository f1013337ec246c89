import Benchmark
import Foundation
import Infer
import Training
import ModelFile
import InferTools
import LowLevel
import MNIST

/// MNIST from MNIST_DIR, else the sample bundled with the train command.
private func loadDigits() -> ClassificationSet {
    let bundled = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Sources/train/Resources/mnist-sample").path
    let directory = ProcessInfo.processInfo.environment["MNIST_DIR"] ?? bundled
    do {
        return ClassificationSet(images: try MNISTDataset(directory: directory).train)
    } catch {
        fatalError("cannot load MNIST from \(directory): \(error)")
    }
}

/// Training steps of MLP 784-128-10 at batch 64 on one BLAS thread, per optimizer, and batch-1
/// forward passes. Each benchmark sample runs 1,000 iterations (scaling factor kilo), so
/// Throughput is in thousands of steps per second (samples/s = 64 000 × that for training) and
/// Malloc (total) counts heap allocations per 1,000 iterations: it must be 0. The "empty" benchmark
/// shows what the harness itself contributes.
let benchmarks: @Sendable () -> Void = {
    BLAS.configure(threads: 1)
    let data = loadDigits()
    let batch = 64
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 2,
        scalingFactor: .kilo,
        maxDuration: .seconds(4),
        maxIterations: 1_000)

    Benchmark("empty loop (harness overhead)", configuration: configuration) { benchmark in
        for i in benchmark.scaledIterations { blackHole(i) }
    }

    for (name, kind, rate) in [("sgd", OptimizerConfig.Kind.sgd, Float(0.1)), ("momentum", .momentum, 0.05), ("adam", .adam, 0.001)] {
        let config = TrainingConfig(epochs: 1, batchSize: batch, learningRate: rate, schedule: .constant,
                                    optimizer: OptimizerConfig(kind: kind), seed: 1)
        let run = try! TrainingRun(spec: .mlp(inputs: 784, hidden: [128], outputs: 10), config: config,
                                   sampleCount: data.count)
        var rng = RandomGenerator(seed: 2)
        let order = UnsafeMutableBufferPointer<Int32>.allocate(capacity: data.count)
        for i in 0..<data.count { order[i] = Int32(i) }
        rng.shuffle(order)
        nonisolated(unsafe) var offset = 0
        Benchmark("MLP 784-128-10 train step, batch 64, 1 thread, \(name)", configuration: configuration) { benchmark in
            try FloatingPointMode.withDenormalsFlushed {
                for _ in benchmark.scaledIterations {
                    if offset + batch > order.count { offset = 0 }
                    let loss = run.trainer.step(data, indices: order.baseAddress! + offset, count: batch)
                    guard loss.isFinite else { throw TrainingError.nonFinite(epoch: 0, step: 0, loss: loss) }
                    offset += batch
                }
            }
        }
    }

    // Whole epochs through Trainer.trainEpoch, exactly as `train` runs them: samples/s =
    // training samples × epochs/s; Malloc (total) is per epoch.
    let epochConfiguration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal],
        warmupIterations: 1, scalingFactor: .one, maxDuration: .seconds(8), maxIterations: 20)
    for (name, kind, rate) in [("sgd", OptimizerConfig.Kind.sgd, Float(0.1)), ("momentum", .momentum, 0.05)] {
        let config = TrainingConfig(epochs: 1_000, batchSize: batch, learningRate: rate, schedule: .constant,
                                    optimizer: OptimizerConfig(kind: kind), seed: 1)
        let run = try! TrainingRun(spec: .mlp(inputs: 784, hidden: [128], outputs: 10), config: config,
                                   sampleCount: data.count)
        Benchmark("MLP 784-128-10 epoch of \(data.count) samples, batch 64, 1 thread, \(name)",
                  configuration: epochConfiguration) { benchmark in
            for _ in benchmark.scaledIterations {
                blackHole(try run.trainer.trainEpoch(on: data).meanLoss)
            }
        }
    }

    let inferenceConfig = TrainingConfig(epochs: 1, batchSize: 1, learningRate: 0.1, schedule: .constant,
                                         optimizer: OptimizerConfig(kind: .sgd), seed: 1)
    let inference = try! TrainingRun(spec: .mlp(inputs: 784, hidden: [128], outputs: 10), config: inferenceConfig,
                                     sampleCount: 1)
    let input = UnsafeMutableBufferPointer<Float>.allocate(capacity: 784)
    if case .bytes(let pixels, let scale) = data.features {
        for i in 0..<784 { input[i] = Float(pixels[i]) * scale }
    }
    Benchmark("MLP 784-128-10 forward, batch 1", configuration: configuration) { benchmark in
        let matrix = Matrix(input, rows: 1, columns: 784)
        for _ in benchmark.scaledIterations {
            blackHole(inference.network.forward(matrix)[0, 0])
        }
    }
}
