import ModelFile
/// Hyper-parameters of a training run. Stored in checkpoints.
public struct TrainingConfig: Codable, Sendable, Equatable {
    /// Total epochs; a resumed run continues until this many are done.
    public var epochs: Int
    public var batchSize: Int
    /// Base learning rate η₀.
    public var learningRate: Float
    public var schedule: LearningRateSchedule
    public var optimizer: OptimizerConfig
    public var seed: UInt64
    /// Rows held out for early stopping, or nil to train on every row for `epochs` epochs.
    public var validation: ValidationSplit?

    public init(epochs: Int, batchSize: Int, learningRate: Float, schedule: LearningRateSchedule,
                optimizer: OptimizerConfig, seed: UInt64, validation: ValidationSplit? = nil) {
        self.epochs = epochs
        self.batchSize = batchSize
        self.learningRate = learningRate
        self.schedule = schedule
        self.optimizer = optimizer
        self.seed = seed
        self.validation = validation
    }

    /// Why these settings cannot train, or nil.
    public var problem: String? {
        if epochs < 0 { return "--epochs must be 0 or more, not \(epochs)" }
        if batchSize <= 0 { return "--batch must be positive, not \(batchSize)" }
        if !(learningRate > 0) || !learningRate.isFinite { return "--lr must be a positive number, not \(learningRate)" }
        if optimizer.weightDecay < 0 || !optimizer.weightDecay.isFinite {
            return "--weight-decay must be 0 or more, not \(optimizer.weightDecay)"
        }
        if let problem = validation?.problem { return problem }
        return nil
    }
}
