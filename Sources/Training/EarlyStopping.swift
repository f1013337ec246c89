import Arena
import ModelFile

/// How a network run sets training rows aside and stops on them: `fraction` of the training rows
/// (stratified by class, chosen by the run's seed) are held out, and training stops once the
/// validation loss has not fallen for `patience` epochs; the weights of the best epoch are the
/// run's result. Stored in checkpoints with the other settings.
public struct ValidationSplit: Codable, Sendable, Equatable {
    public var fraction: Double
    public var patience: Int
    /// Epochs without a lower validation loss before training stops, when none is given.
    public static let defaultPatience = 3
    public init(fraction: Double, patience: Int = defaultPatience) { self.fraction = fraction; self.patience = patience }

    /// Why these settings cannot be used, or nil.
    public var problem: String? {
        if !(fraction > 0 && fraction < 1) { return "--validation-fraction must be between 0 and 1 (exclusive), not \(fraction)" }
        if patience < 1 { return "--patience must be at least 1, not \(patience)" }
        return nil
    }
}

/// The early-stopping rule, shared by the networks and the classic models: the lowest validation
/// loss so far, the epoch it came at, and the epochs since. `record` says when a loss is the lowest
/// yet (the caller saves its weights then); a NaN loss counts as no improvement.
public struct EarlyStoppingRule: Sendable {
    public let patience: Int
    /// The lowest loss so far (+∞ before the first epoch).
    public private(set) var bestLoss = Double.infinity
    /// Epochs completed when the lowest loss was recorded; 0 before any.
    public private(set) var bestEpoch = 0
    public private(set) var epochsWithoutImprovement = 0

    public init(patience: Int) { self.patience = patience }

    /// `patience` epochs in a row brought no lower loss.
    public var patienceRanOut: Bool { epochsWithoutImprovement >= patience }

    /// Records the loss after `epoch` epochs; true when it is the lowest yet.
    public mutating func record(_ loss: Double, epoch: Int) -> Bool {
        guard loss < bestLoss else { epochsWithoutImprovement += 1; return false }
        bestLoss = loss
        bestEpoch = epoch
        epochsWithoutImprovement = 0
        return true
    }

    /// Restores counters saved in a checkpoint.
    public mutating func restore(bestLoss: Double, bestEpoch: Int, epochsWithoutImprovement: Int) {
        self.bestLoss = bestLoss
        self.bestEpoch = bestEpoch
        self.epochsWithoutImprovement = epochsWithoutImprovement
    }
}

/// Early stopping on a validation loss: keeps a copy of the weights (parameters and batch-norm
/// statistics) of the epoch with the lowest validation loss, counts the epochs since then, and
/// says when `patience` epochs have passed without a lower one. The copy lives in the arena;
/// recording an epoch allocates nothing.
public final class EarlyStopping {
    private var rule: EarlyStoppingRule
    public var patience: Int { rule.patience }
    /// The lowest validation loss so far (+∞ before the first epoch).
    public var bestLoss: Float { Float(rule.bestLoss) }
    /// Epochs completed when the best loss was recorded; 0 before any.
    public var bestEpoch: Int { rule.bestEpoch }
    public var epochsWithoutImprovement: Int { rule.epochsWithoutImprovement }
    /// The network's parameters and buffers, and their saved copies, in the same order.
    private let live: [UnsafeMutableBufferPointer<Float>]
    private let saved: [UnsafeMutableBufferPointer<Float>]
    /// Names of the saved tensors ("best." + the parameter's or buffer's name), for checkpoints.
    public let names: [String]

    public var shouldStop: Bool { bestEpoch > 0 && rule.patienceRanOut }

    /// - Precondition: patience ≥ 1.
    public init(network: Network, patience: Int, arena: ArenaAllocator) throws(ArenaError) {
        precondition(patience >= 1)
        rule = EarlyStoppingRule(patience: patience)
        let tensors = network.parameters.map { ($0.name, $0.value) } + network.buffers.map { ($0.name, $0.values) }
        live = tensors.map(\.1)
        var copies: [UnsafeMutableBufferPointer<Float>] = []
        for (_, values) in tensors { copies.append(try arena.allocateFloats(values.count)) }
        saved = copies
        names = tensors.map { "best." + $0.0 }
    }

    /// Arena bytes `init` takes for a network of `spec`.
    public static func arenaBytes(spec: NetworkSpec) -> Int {
        spec.tensorBytes { $0.parameterShapes(input: $1) + $0.bufferShapes(input: $1) }
    }

    /// Records the validation loss after `epoch` epochs (saving the weights when it is the lowest
    /// yet) and returns whether training should stop. A NaN loss counts as no improvement.
    @discardableResult
    public func record(loss: Float, epoch: Int) -> Bool {
        if rule.record(Double(loss), epoch: epoch) {
            for (from, to) in zip(live, saved) { _ = to.update(fromContentsOf: from) }
        }
        return shouldStop
    }

    /// Puts the best epoch's weights back into the network (nothing before the first record).
    public func restoreBest() {
        guard bestEpoch > 0 else { return }
        for (from, to) in zip(saved, live) { _ = to.update(fromContentsOf: from) }
    }

    /// The saved copies, named as in `names` (checkpoints read and write them).
    public var savedTensors: [(name: String, values: UnsafeMutableBufferPointer<Float>)] {
        Array(zip(names, saved)).map { (name: $0.0, values: $0.1) }
    }

    /// Restores counters saved in a checkpoint (the saved tensors are filled through `savedTensors`).
    public func restore(bestLoss: Float, bestEpoch: Int, epochsWithoutImprovement: Int) {
        rule.restore(bestLoss: Double(bestLoss), bestEpoch: bestEpoch, epochsWithoutImprovement: epochsWithoutImprovement)
    }
}
