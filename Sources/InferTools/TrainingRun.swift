import Infer
import Arena
import LowLevel

/// A complete training run of a classifier: one arena sized exactly for the network, the trainer and
/// its buffers; the epoch loop; evaluation after each epoch; a checkpoint after each epoch.
/// Both the `train` command and the tests drive training through this type.
public final class TrainingRun {
    public let arena: ArenaAllocator
    public let network: Network
    public let trainer: Trainer

    /// Exact arena bytes for a run.
    public static func arenaBytes(spec: NetworkSpec, config: TrainingConfig, sampleCount: Int) -> Int {
        spec.arenaBytes(maxBatch: config.batchSize)
            + Trainer.arenaBytes(network: spec, maxBatch: config.batchSize, optimizer: config.optimizer.kind,
                                 sampleCount: sampleCount)
    }

    /// A fresh run seeded by `config.seed`, or one continuing from `checkpoint`.
    public init(spec: NetworkSpec, config: TrainingConfig, sampleCount: Int, resumeFrom checkpoint: Checkpoint? = nil) throws {
        if let problem = spec.problem { throw CheckpointError(problem) }
        if let problem = config.problem { throw CheckpointError(problem) }
        arena = try ArenaAllocator(capacity: Self.arenaBytes(spec: spec, config: config, sampleCount: sampleCount))
        var rng = RandomGenerator(seed: config.seed)
        network = try Network(spec: spec, maxBatch: config.batchSize, arena: arena, rng: &rng)
        trainer = try Trainer(network: network, config: config, sampleCount: sampleCount, rng: rng, arena: arena)
        if let checkpoint { try checkpoint.restore(into: trainer) }
    }

    /// Trains until `trainer.config.epochs` epochs are complete. After each epoch: evaluates on
    /// `test` (and on `train` when `measureTrainAccuracy`), writes `checkpointPath` atomically when
    /// given, and reports through `onEpoch`.
    public func run(train: ClassificationSet, test: ClassificationSet?, checkpointPath: String? = nil,
                    measureTrainAccuracy: Bool = true,
                    progress: (EpochProgress) -> Void = { _ in },
                    onEpoch: (EpochReport) -> Void = { _ in }) throws -> [EpochReport] {
        var reports: [EpochReport] = []
        reports.reserveCapacity(max(0, trainer.config.epochs - trainer.epoch))
        let writer = try checkpointPath.map { try CheckpointWriter(trainer: trainer, path: $0) }
        while trainer.epoch < trainer.config.epochs {
            let result = try trainer.trainEpoch(on: train, progress: progress)
            let trainAccuracy = measureTrainAccuracy ? trainer.evaluate(train).accuracy : nil
            let testResult = test.map { trainer.evaluate($0) }
            try writer?.write()
            let report = EpochReport(result: result, trainAccuracy: trainAccuracy,
                                     testAccuracy: testResult?.accuracy, testLoss: testResult?.loss)
            reports.append(report)
            onEpoch(report)
        }
        return reports
    }
}

/// One epoch's figures.
public struct EpochReport: Sendable {
    public let result: EpochResult
    public let trainAccuracy: Double?
    public let testAccuracy: Double?
    public let testLoss: Double?
}
