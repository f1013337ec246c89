import Infer
import Training
import ModelFile
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
                                 sampleCount: sampleCount, earlyStopping: config.validation != nil)
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

    /// Trains until `trainer.config.epochs` epochs are complete, or early stopping ends it. After
    /// each epoch: evaluates on `test` (and on `train` when `measureTrainAccuracy`), and with
    /// early stopping on `validation` (the rows the split held out), then writes `checkpointPath`
    /// atomically when given, and reports through `onEpoch`. With early stopping, the network
    /// ends with the best validation epoch's weights.
    public func run(train: ClassificationSet, test: ClassificationSet?, validation: ClassificationSet? = nil,
                    checkpointPath: String? = nil, measureTrainAccuracy: Bool = true,
                    progress: (EpochProgress) -> Void = { _ in },
                    onEpoch: (EpochReport) -> Void = { _ in }) throws -> [EpochReport] {
        var reports: [EpochReport] = []
        reports.reserveCapacity(max(0, trainer.config.epochs - trainer.epoch))
        let writer = try checkpointPath.map { try CheckpointWriter(trainer: trainer, path: $0) }
        precondition((trainer.earlyStopping == nil) == (validation == nil), "early stopping needs the validation rows, and they need a validation split")
        while trainer.epoch < trainer.config.epochs && !(trainer.earlyStopping?.shouldStop ?? false) {
            let result = try trainer.trainEpoch(on: train, progress: progress)
            let trainAccuracy = measureTrainAccuracy ? trainer.evaluate(train).accuracy : nil
            let testResult = test.map { trainer.evaluate($0) }
            let validationResult = validation.map { trainer.evaluate($0) }
            if let validationResult { trainer.earlyStopping?.record(loss: Float(validationResult.loss), epoch: trainer.epoch) }
            try writer?.write()
            let report = EpochReport(result: result, trainAccuracy: trainAccuracy,
                                     testAccuracy: testResult?.accuracy, testLoss: testResult?.loss,
                                     validationAccuracy: validationResult?.accuracy, validationLoss: validationResult?.loss,
                                     bestEpoch: trainer.earlyStopping?.bestEpoch)
            reports.append(report)
            onEpoch(report)
        }
        trainer.earlyStopping?.restoreBest()
        return reports
    }
}

/// One epoch's figures.
public struct EpochReport: Sendable {
    public let result: EpochResult
    public let trainAccuracy: Double?
    public let testAccuracy: Double?
    public let testLoss: Double?
    public var validationAccuracy: Double? = nil
    public var validationLoss: Double? = nil
    /// With early stopping: the epoch whose weights are the best so far.
    public var bestEpoch: Int? = nil
}
