import Arena
import Infer
import Training
import ModelFile
import LowLevel

/// The soft-margin linear SVM in its primal form, min (λ/2)‖w‖² + (1/n)Σ max(0, 1 − yᵢ(⟨w, xᵢ⟩ + b)),
/// by (minibatch) subgradient descent (`LinearModelTrainer`, hinge loss). λ = 1/(C·n) relates it to
/// the C-form ½‖w‖² + CΣ hinge. Multiclass one-vs-all (largest score) or one-vs-one (vote).
/// Outputs scores.
public struct LinearSVM: TrainedModel {
    public let weight: [Float]
    public let bias: [Float]
    public let inputCount: Int
    public let classCount: Int
    public let multiclass: MulticlassStrategy
    public let epochLosses: [Double]
    /// With a validation set: what early stopping did.
    public var validationReport: LinearModelTrainer.ValidationReport? = nil

    public var outputCount: Int { classCount }
    public var outputKind: ModelFormat.OutputKind { .scores }

    /// As `LinearModelTrainer.defaults`, with λ = 1/n (C = 1) on large sets too.
    public static func defaultSettings(samples n: Int) -> LinearModelTrainer.Settings {
        var s = LinearModelTrainer.defaults(samples: n, rate: 0.05, decay: 0.2)
        s.lambda = 1 / Float(max(n, 1))
        return s
    }

    /// The arena bytes `fit` takes (all released on return).
    public static func arenaBytes(for set: SampleSet, multiclass: MulticlassStrategy = .oneVsAll,
                                  settings: LinearModelTrainer.Settings? = nil, validationRows: Int? = nil) -> FitArenaBytes {
        let s = settings ?? defaultSettings(samples: set.count)
        let (d, k) = (set.featureCount, set.classCount)
        if k == 2 || multiclass == .oneVsAll {
            return FitArenaBytes(peak: LinearModelTrainer.columnsFitArenaBytes(for: set, batchSize: s.batchSize, validationRows: validationRows))
        }
        let peak = ClassPairs.all(classes: k).map { pair in
            set.pairArenaBytes(pair.0, pair.1)
                + LinearModelTrainer.arenaBytes(samples: set.pairCount(pair.0, pair.1), features: d, columns: 1, batchSize: s.batchSize)
        }.max() ?? 0
        return FitArenaBytes(peak: peak)
    }

    /// With `validation`, stops early on its hinge loss (`LinearModelTrainer.Validation`);
    /// not with one-vs-one (each pair would need its own held-out rows).
    public static func fit(_ set: SampleSet, multiclass: MulticlassStrategy = .oneVsAll,
                           settings: LinearModelTrainer.Settings? = nil, validation: SampleSet? = nil, patience: Int = 3,
                           arena: ArenaAllocator) throws -> LinearSVM {
        let settings = settings ?? defaultSettings(samples: set.count)
        precondition(set.isClassification)
        let (k, d) = (set.classCount, set.featureCount)
        let mark = arena.mark()
        defer { arena.reset(to: mark) }
        if k == 2 {
            let y = try set.signs(positive: 1, arena: arena)
            let check = try validation.map { v throws(ArenaError) in try LinearModelTrainer.Validation.signs(v, patience: patience, arena: arena) }
            let r = try LinearModelTrainer.train(set.features, targets: .signs(y.baseAddress!), columns: 1, loss: .hinge,
                                                 settings: settings, validation: check, arena: arena)
            var model = LinearSVM(weight: r.weight.flatMap { [-$0, $0] }, bias: [-r.bias[0], r.bias[0]], inputCount: d, classCount: 2,
                                  multiclass: .oneVsAll, epochLosses: r.epochLosses)
            model.validationReport = r.validationReport
            return model
        }
        if multiclass == .oneVsAll {
            let check = validation.map { LinearModelTrainer.Validation.classes($0, patience: patience) }
            let r = try LinearModelTrainer.train(set.features, targets: .classes(set.labels.baseAddress!), columns: k, loss: .hinge,
                                                 settings: settings, validation: check, arena: arena)
            var model = LinearSVM(weight: r.weight, bias: r.bias, inputCount: d, classCount: k, multiclass: .oneVsAll, epochLosses: r.epochLosses)
            model.validationReport = r.validationReport
            return model
        }
        precondition(validation == nil, "early stopping is not available for one-vs-one")
        let pairs = ClassPairs.all(classes: k)
        var weight = [Float](repeating: 0, count: d * pairs.count), bias = [Float](repeating: 0, count: pairs.count)
        var losses = [Double](repeating: 0, count: settings.epochs)
        for (p, (a, c)) in pairs.enumerated() {
            let inner = arena.mark()
            let (x, y) = try set.pair(a, c, arena: arena)
            let r = try LinearModelTrainer.train(x, targets: .signs(y.baseAddress!), columns: 1, loss: .hinge, settings: settings, arena: arena)
            for j in 0..<d { weight[j * pairs.count + p] = r.weight[j] }
            bias[p] = r.bias[0]
            for e in 0..<losses.count { losses[e] += r.epochLosses[e] / Double(pairs.count) }
            arena.reset(to: inner)
        }
        return LinearSVM(weight: weight, bias: bias, inputCount: d, classCount: k, multiclass: .oneVsOne, epochLosses: losses)
    }

    public func predict(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        LinearScores.compute(input, weight: weight, bias: bias, inputs: inputCount, into: output,
                             vote: multiclass == .oneVsOne ? classCount : nil)
    }

    public var stages: [ModelStage] {
        var s: [ModelStage] = [.dense(weight: weight, bias: bias, inputs: inputCount, outputs: bias.count)]
        if multiclass == .oneVsOne { s.append(.pairwiseVote(classes: classCount)) }
        return s
    }
}
