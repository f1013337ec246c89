import Arena
import ModelFile
import LowLevel

/// Why training stopped early.
public enum TrainingError: Error, CustomStringConvertible {
    /// The loss or the network's output became NaN or infinite (learning rate too high, or bad data).
    case nonFinite(epoch: Int, step: Int, loss: Float)
    case dataMismatch(String)

    public var description: String {
        switch self {
        case let .nonFinite(epoch, step, loss):
            return "training diverged: loss \(loss) at epoch \(epoch + 1), step \(step); try a smaller --lr"
        case let .dataMismatch(why):
            return why
        }
    }
}

/// Progress of a running epoch, handed to a callback every few steps.
public struct EpochProgress: Sendable {
    public let epoch: Int
    public let step: Int
    public let stepsInEpoch: Int
    public let samplesDone: Int
    public let meanLoss: Float
}

/// What one epoch did.
public struct EpochResult: Sendable {
    public let epoch: Int
    public let meanLoss: Float
    public let samples: Int
    public let seconds: Double
    public let learningRate: Float
}

/// Minibatch training of a classifier. The shuffle order, the batch and its labels live in the
/// arena; a step allocates nothing. The random generator is used only for shuffling after the
/// network is built, so saving it with the weights makes a resumed run bit-identical.
public final class Trainer {
    public let network: Network
    public let optimizer: Optimizer
    public let config: TrainingConfig
    /// The arena the trainer's buffers live in (kept alive with the trainer).
    public let arena: ArenaAllocator
    /// Epochs completed.
    public var epoch: Int = 0
    public var rng: RandomGenerator
    /// The best validation epoch's weights and the stopping rule, when `config.validation` is set.
    public let earlyStopping: EarlyStopping?

    private let order: UnsafeMutableBufferPointer<Int32>
    private let batch: UnsafeMutableBufferPointer<Float>
    private let batchLabels: UnsafeMutableBufferPointer<Int32>
    /// Regression targets of the batch (mean squared error networks only).
    private let batchValues: UnsafeMutableBufferPointer<Float>?

    /// - Precondition: `config.problem == nil`, `network.maxBatch >= config.batchSize`.
    public init(network: Network, config: TrainingConfig, sampleCount: Int, rng: RandomGenerator,
                arena: ArenaAllocator) throws(ArenaError) {
        precondition(config.problem == nil && network.maxBatch >= config.batchSize)
        self.network = network
        self.config = config
        self.rng = rng
        self.arena = arena
        optimizer = try Optimizer(config.optimizer, parameters: network.parameters, arena: arena)
        order = try arena.allocate(Int32.self, count: sampleCount)
        batch = try arena.allocateFloats(network.maxBatch * network.inputCount)
        batchLabels = try arena.allocate(Int32.self, count: network.maxBatch)
        batchLabels.initialize(repeating: 0)
        batchValues = network.spec.loss.usesLabels ? nil : try arena.allocateFloats(network.maxBatch)
        earlyStopping = try config.validation.map { v throws(ArenaError) in try EarlyStopping(network: network, patience: v.patience, arena: arena) }
    }

    /// Arena bytes the trainer needs beyond the network's.
    public static func arenaBytes(network spec: NetworkSpec, maxBatch: Int, optimizer: OptimizerConfig.Kind,
                                  sampleCount: Int, earlyStopping: Bool = false) -> Int {
        let state = Optimizer.stateSlots(optimizer) * spec.tensorBytes { $0.parameterShapes(input: $1) }
        return state + ArenaAllocator.footprint(of: Int32.self, count: sampleCount)
            + ArenaAllocator.footprint(of: Float.self, count: maxBatch * spec.inputCount)
            + ArenaAllocator.footprint(of: Int32.self, count: maxBatch)
            + (spec.loss.usesLabels ? 0 : ArenaAllocator.footprint(of: Float.self, count: maxBatch))
            + (earlyStopping ? EarlyStopping.arenaBytes(spec: spec) : 0)
    }

    /// The learning rate the next update uses.
    public var currentLearningRate: Float {
        config.schedule.rate(base: config.learningRate, step: optimizer.step, epoch: epoch)
    }

    /// One pass over `data` in a freshly shuffled order. The last batch may be smaller.
    /// `progress` is called about every `progressEvery` steps and after the last.
    public func trainEpoch(on data: ClassificationSet, progressEvery: Int = 50,
                           progress: (EpochProgress) -> Void = { _ in }) throws(TrainingError) -> EpochResult {
        try FloatingPointMode.withDenormalsFlushed { () throws(TrainingError) in
            try trainEpochUnflushed(on: data, progressEvery: progressEvery, progress: progress)
        }
    }

    private func trainEpochUnflushed(on data: ClassificationSet, progressEvery: Int,
                                     progress: (EpochProgress) -> Void) throws(TrainingError) -> EpochResult {
        guard data.count == order.count, data.featureCount == network.inputCount,
              data.isRegression == !network.spec.loss.usesLabels,
              data.classCount <= network.outputCount || network.spec.loss == .binaryCrossEntropy && data.classCount == 2 else {
            throw .dataMismatch("data (\(data.count) samples of \(data.featureCount) features, \(data.classCount) classes) does not match this trainer (\(order.count) samples, network \(network.inputCount)→\(network.outputCount))")
        }
        let start = MonotonicClock.now()
        for i in 0..<order.count { order[i] = Int32(i) }
        rng.shuffle(order)
        let steps = (order.count + config.batchSize - 1) / config.batchSize
        var lossSum: Double = 0
        var done = 0
        let rate = currentLearningRate
        for step in 0..<steps {
            let n = min(config.batchSize, order.count - done)
            let loss = self.step(data, indices: order.baseAddress! + done, count: n)
            guard loss.isFinite else { throw .nonFinite(epoch: epoch, step: step, loss: loss) }
            lossSum += Double(loss) * Double(n)
            done += n
            if (step + 1) % progressEvery == 0 || step == steps - 1 {
                progress(EpochProgress(epoch: epoch, step: step + 1, stepsInEpoch: steps, samplesDone: done,
                                       meanLoss: Float(lossSum / Double(done))))
            }
        }
        epoch += 1
        return EpochResult(epoch: epoch, meanLoss: Float(lossSum / Double(max(done, 1))), samples: done,
                           seconds: MonotonicClock.seconds(since: start), learningRate: rate)
    }

    /// One update on the samples `indices[0..<n]`; returns the batch's mean loss before the update.
    /// On a non-finite loss the weights are left unchanged.
    @discardableResult
    public func step(_ data: ClassificationSet, indices: UnsafePointer<Int32>, count n: Int) -> Float {
        let input = Matrix(batch, rows: n, columns: network.inputCount)
        data.gather(indices, count: n, into: input, labels: batchLabels.baseAddress!, values: batchValues?.baseAddress)
        let targets = batchValues.map { Targets.values($0.baseAddress!) } ?? .labels(batchLabels.baseAddress!)
        if optimizer.config.kind == .sgd {
            // Plain SGD is applied inside the backward pass (fused into the weight-gradient GEMM).
            let loss = network.sgdStep(input: input, targets: targets, learningRate: currentLearningRate,
                                       weightDecay: optimizer.config.weightDecay)
            if loss.isFinite { optimizer.step += 1 }
            return loss
        }
        let loss = network.computeGradients(input: input, targets: targets)
        guard loss.isFinite else { return loss }
        optimizer.update(learningRate: currentLearningRate)
        return loss
    }

    /// Accuracy (NaN for regression) and mean loss of the network on `data`, in batches of `network.maxBatch`.
    public func evaluate(_ data: ClassificationSet) -> (accuracy: Double, loss: Double) {
        Evaluation.run(network, on: data, batch: batch, labels: batchLabels, values: batchValues)
    }
}

/// Batched evaluation through a network's forward pass, using caller-provided buffers.
public enum Evaluation {
    /// Accuracy (NaN for a regression network, whose `values` buffer holds a batch of targets;
    /// a binary network's class is 1 where its logit is positive) and mean loss.
    public static func run(_ network: Network, on data: ClassificationSet,
                           batch: UnsafeMutableBufferPointer<Float>,
                           labels: UnsafeMutableBufferPointer<Int32>,
                           values: UnsafeMutableBufferPointer<Float>? = nil) -> (accuracy: Double, loss: Double) {
        guard data.count > 0 else { return (0, 0) }
        var correct = 0
        var lossSum: Double = 0
        var start = 0
        while start < data.count {
            let n = min(network.maxBatch, data.count - start)
            let input = Matrix(batch, rows: n, columns: network.inputCount)
            data.gather(rowsFrom: start, count: n, into: input, labels: labels.baseAddress!, values: values?.baseAddress)
            let output = network.forward(input)
            let targets = values.map { Targets.values($0.baseAddress!) } ?? .labels(labels.baseAddress!)
            lossSum += Double(network.spec.loss.evaluate(output: output, targets: targets, gradient: nil)) * Double(n)
            switch network.spec.loss {
            case .softmaxCrossEntropy:
                for r in 0..<n where Kernels.argmax(output.row(r), count: output.columns) == Int(labels[r]) { correct += 1 }
            case .binaryCrossEntropy:
                for r in 0..<n where (output.row(r)[0] > 0 ? 1 : 0) == labels[r] { correct += 1 }
            case .meanSquaredError:
                break
            }
            start += n
        }
        let accuracy = network.spec.loss == .meanSquaredError ? Double.nan : Double(correct) / Double(data.count)
        return (accuracy, lossSum / Double(data.count))
    }
}
