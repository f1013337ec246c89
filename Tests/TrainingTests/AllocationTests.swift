import Testing
import Foundation
import Arena
import Training
import ModelFile
import InferTools
import LowLevel
import MallocCounter

/// Counts real malloc calls (the MallocCounter target interposes on glibc's allocator) made on
/// this thread, so tests running in parallel on other threads do not disturb the count.
func mallocCalls(_ body: () -> Void) -> UInt64 {
    malloc_counter_start()
    body()
    return malloc_counter_stop()
}

@Suite(.serialized) struct AllocationTests {
    init() { BLAS.configure(threads: 1) }

    @Test func counterSeesAllocations() {
        // The counter itself must work, or the zero results below prove nothing.
        let calls = mallocCalls {
            let p = UnsafeMutableRawPointer.allocate(byteCount: 100, alignment: 16)
            p.deallocate()
            let q = UnsafeMutableRawPointer.allocate(byteCount: 100, alignment: 128)
            q.deallocate()
        }
        #expect(calls == 2)
        #expect(mallocCalls { _ = [Int](repeating: 1, count: 1000) } >= 1)
    }

    @Test(arguments: OptimizerConfig.Kind.allCases)
    func trainingStepsAllocateNothing(optimizer: OptimizerConfig.Kind) throws {
        let data = ClassificationSet(images: try loadSample().train)
        let spec = NetworkSpec.mlp(inputs: 784, hidden: [128], outputs: 10)
        let config = TrainingConfig(epochs: 3, batchSize: 64, learningRate: 0.01, schedule: .inverseTime(c: 0.001),
                                    optimizer: OptimizerConfig(kind: optimizer, weightDecay: 1e-4), seed: 1)
        let run = try TrainingRun(spec: spec, config: config, sampleCount: data.count)
        var loss: Float = .nan
        var failure: TrainingError? = nil
        var steps = 0
        // A whole epoch: shuffling, gathering, forward, backward, update, progress reports.
        // The first run is the warm-up (first-use runtime metadata, OpenBLAS buffers).
        func epoch() {
            do throws(TrainingError) {
                loss = try run.trainer.trainEpoch(on: data, progressEvery: 5) { steps = $0.step }.meanLoss
            } catch { failure = error }
        }
        epoch()
        let calls = mallocCalls { epoch() }
        #expect(calls == 0, "\(calls) heap allocations during an epoch of \(steps) steps with \(optimizer)")
        #expect(steps == 16)
        #expect(failure == nil && loss.isFinite)
    }

    /// Whole epochs as `train` runs them (training, evaluation on the training and test sets,
    /// a checkpoint written after each epoch) add no heap allocation: a 3-epoch run allocates
    /// exactly what a 1-epoch run does (the checkpoint writer's set-up, once).
    @Test(arguments: [false, true]) func epochsWithEvaluationAndCheckpointsAllocateNothing(earlyStopping: Bool) throws {
        let sample = try loadSample()
        var train = ClassificationSet(images: sample.train), test = ClassificationSet(images: sample.test)
        var validation: ClassificationSet? = nil
        if earlyStopping { (train, validation) = train.split(validationFraction: 0.2, seed: 3) }
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("alloc-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        func run(epochs: Int) throws -> UInt64 {
            let config = TrainingConfig(epochs: epochs, batchSize: 64, learningRate: 0.05, schedule: .step(epochs: [2]),
                                        optimizer: OptimizerConfig(kind: .momentum), seed: 3,
                                        validation: earlyStopping ? ValidationSplit(fraction: 0.2, patience: 100) : nil)
            let run = try TrainingRun(spec: .mlp(inputs: 784, hidden: [32], outputs: 10), config: config, sampleCount: train.count)
            let path = directory.appendingPathComponent("run-\(epochs).ckpt").path
            var failure: (any Error)? = nil
            let calls = mallocCalls {
                do { _ = try run.run(train: train, test: test, validation: validation, checkpointPath: path) } catch { failure = error }
            }
            if let failure { throw failure }
            return calls
        }
        _ = try run(epochs: 1) // warm-up: first-use runtime metadata
        let one = try run(epochs: 1), three = try run(epochs: 3)
        #expect(three == one, "1 epoch: \(one) allocations, 3 epochs: \(three)")
    }

    @Test(arguments: [1, 7, 64])
    func forwardPassAllocatesNothing(batch: Int) throws {
        let (network, _) = try makeNetwork(.mlp(inputs: 784, hidden: [128], outputs: 10), maxBatch: 64, seed: 2)
        var input = testValues(batch * 784, seed: 3)
        input.withUnsafeMutableBufferPointer { xb in
            let x = Matrix(xb, rows: batch, columns: 784)
            network.forward(x) // warm-up
            let calls = mallocCalls {
                for _ in 0..<100 { network.forward(x) }
            }
            #expect(calls == 0, "\(calls) heap allocations in 100 forward passes at batch \(batch)")
        }
    }
}
