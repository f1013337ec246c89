import Testing
import Foundation
import Arena
import Training
import ModelFile
import InferTools
import LowLevel

@Suite struct EarlyStoppingTests {
    init() { BLAS.configure(threads: 1) }

    /// A learning rate high enough to overfit the 1,000-digit sample within a few epochs.
    func run(patience: Int, epochs: Int, spec: NetworkSpec = .mlp(inputs: 784, hidden: [64], outputs: 10))
        throws -> (run: TrainingRun, reports: [EpochReport], train: ClassificationSet, validation: ClassificationSet) {
        let all = ClassificationSet(images: try loadSample().train)
        let config = TrainingConfig(epochs: epochs, batchSize: 32, learningRate: 0.2, schedule: .constant,
                                    optimizer: OptimizerConfig(kind: .momentum), seed: 6,
                                    validation: ValidationSplit(fraction: 0.25, patience: patience))
        let (train, validation) = all.split(validationFraction: 0.25, seed: config.seed)
        let run = try TrainingRun(spec: spec, config: config, sampleCount: train.count)
        let reports = try run.run(train: train, test: nil, validation: validation, measureTrainAccuracy: false)
        return (run, reports, train, validation)
    }

    /// Training stops `patience` epochs after the validation loss last fell (where it turned
    /// up), and the network ends with that epoch's weights: its validation loss is the lowest.
    @Test(arguments: [1, 2, 4]) func stopsWhereTheValidationLossTurnedUp(patience: Int) throws {
        let (run, reports, _, validation) = try run(patience: patience, epochs: 60)
        let losses = reports.compactMap(\.validationLoss)
        #expect(losses.count == reports.count)
        let best = losses.indices.min { losses[$0] < losses[$1] || (losses[$0] == losses[$1] && $0 < $1) }! + 1
        let stopping = try #require(run.trainer.earlyStopping)
        #expect(stopping.bestEpoch == best)
        #expect(stopping.shouldStop, "did not stop within 60 epochs: \(losses)")
        #expect(reports.count == best + patience, "losses \(losses)")
        // Every epoch after the best was no lower, and the one before stopping was the patience-th.
        #expect(losses[best...].allSatisfy { $0 >= losses[best - 1] })
        #expect(abs(run.trainer.evaluate(validation).loss - losses[best - 1]) < 1e-9, "the best epoch's weights are back")
        #expect(run.arena.highWaterMark == run.arena.capacity)
    }

    /// The split is stratified (each class within a row of the fraction), disjoint, complete and
    /// fixed by the seed.
    @Test func splitIsStratifiedAndSeeded() throws {
        let all = ClassificationSet(images: try loadSample().train)
        let (train, validation) = all.split(validationFraction: 0.25, seed: 3)
        #expect(train.count + validation.count == all.count)
        for c in 0..<Int32(10) {
            let total = all.labels.filter { $0 == c }.count, held = validation.labels.filter { $0 == c }.count
            #expect(abs(Double(held) - 0.25 * Double(total)) <= 0.5 + 1e-9, "class \(c): \(held) of \(total)")
        }
        let again = all.split(validationFraction: 0.25, seed: 3), other = all.split(validationFraction: 0.25, seed: 4)
        #expect(again.validation.labels == validation.labels && again.train.labels == train.labels)
        guard case .bytes(let a, _) = validation.features, case .bytes(let b, _) = other.validation.features else { return }
        #expect(a != b)
    }

    /// A checkpoint carries the early-stopping state: a run resumed from any epoch ends with the
    /// weights, counters and best copy of the run never interrupted.
    @Test func resumedRunsMatchAnUninterruptedOne() throws {
        let (straight, reports, train, validation) = try run(patience: 2, epochs: 60)
        let stopAt = reports.count
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("es-\(UUID().uuidString)").path
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        for split in [1, stopAt - 2, stopAt - 1] where split > 0 {
            var config = straight.trainer.config
            config.epochs = split
            let first = try TrainingRun(spec: straight.network.spec, config: config, sampleCount: train.count)
            _ = try first.run(train: train, test: nil, validation: validation, checkpointPath: dir + "/a", measureTrainAccuracy: false)
            let checkpoint = try Checkpoint.read(path: dir + "/a")
            config.epochs = 60
            let second = try TrainingRun(spec: straight.network.spec, config: config, sampleCount: train.count, resumeFrom: checkpoint)
            _ = try second.run(train: train, test: nil, validation: validation, measureTrainAccuracy: false)
            #expect(second.trainer.epoch == stopAt)
            #expect(second.trainer.earlyStopping?.bestEpoch == straight.trainer.earlyStopping?.bestEpoch)
            for (p, q) in zip(second.network.parameters, straight.network.parameters) {
                #expect(Array(p.value) == Array(q.value), "resumed after epoch \(split): \(p.name)")
            }
        }
    }
}
