import Benchmark
import Foundation
import Infer
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

/// One training step of MLP 784-128-10 at batch 64 on one BLAS thread, per optimizer. The
/// throughput metric counts steps; samples/s = 64 × steps/s. Malloc (total) must read 0.
let benchmarks: @Sendable () -> Void = {
    BLAS.configure(threads: 1)
    let data = loadDigits()
    let batch = 64
    let configuration = Benchmark.Configuration(
        metrics: [.wallClock, .throughput, .mallocCountTotal, .peakMemoryResident],
        warmupIterations: 50,
        scalingFactor: .one,
        maxDuration: .seconds(5),
        maxIterations: 20_000)

    for (name, kind, rate) in [("sgd", OptimizerConfig.Kind.sgd, Float(0.1)), ("momentum", .momentum, 0.05), ("adam", .adam, 0.001)] {
        Benchmark("MLP 784-128-10 train step, batch 64, 1 thread, \(name)", configuration: configuration) { benchmark in
            let config = TrainingConfig(epochs: 1, batchSize: batch, learningRate: rate, schedule: .constant,
                                        optimizer: OptimizerConfig(kind: kind), seed: 1)
            let run = try TrainingRun(spec: .mlp(inputs: 784, hidden: [128], outputs: 10), config: config,
                                      sampleCount: data.count)
            var order = (0..<Int32(data.count)).shuffled()
            var offset = 0
            benchmark.startMeasurement()
            try order.withUnsafeMutableBufferPointer { indices in
                try FloatingPointMode.withDenormalsFlushed {
                    for _ in benchmark.scaledIterations {
                        if offset + batch > indices.count { offset = 0 }
                        let loss = run.trainer.step(data, indices: indices.baseAddress! + offset, count: batch)
                        guard loss.isFinite else { throw TrainingError.nonFinite(epoch: 0, step: 0, loss: loss) }
                        offset += batch
                    }
                }
            }
            benchmark.stopMeasurement()
        }
    }

    Benchmark("MLP 784-128-10 forward, batch 1", configuration: configuration) { benchmark in
        let config = TrainingConfig(epochs: 1, batchSize: 64, learningRate: 0.1, schedule: .constant,
                                    optimizer: OptimizerConfig(kind: .sgd), seed: 1)
        let run = try TrainingRun(spec: .mlp(inputs: 784, hidden: [128], outputs: 10), config: config, sampleCount: 1)
        var input = [Float](repeating: 0, count: 784)
        if case .bytes(let pixels, let scale) = data.features {
            for i in 0..<784 { input[i] = Float(pixels[i]) * scale }
        }
        input.withUnsafeMutableBufferPointer { x in
            let matrix = Matrix(x, rows: 1, columns: 784)
            benchmark.startMeasurement()
            for _ in benchmark.scaledIterations {
                blackHole(run.network.forward(matrix)[0, 0])
            }
            benchmark.stopMeasurement()
        }
    }
}
