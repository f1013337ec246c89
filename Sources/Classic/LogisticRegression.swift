import Arena
import Infer
import Training
import ModelFile
import LowLevel
#if canImport(Glibc)
import Glibc
#endif

/// Logistic regression: P(y = +1 | x) = σ(⟨w, x⟩ + b), labels ±1 (class 1 is +1), trained on the
/// logistic loss with optional L2 by `LinearModelTrainer`. Outputs [1 − p, p], probabilities.
///
/// With more than two classes it trains one such model per class against the rest; the outputs
/// are then each class's own σ (scores: they need not sum to 1). Use `SoftmaxRegression` for
/// multiclass probabilities.
public struct LogisticRegression: TrainedModel {
    /// [d, columns] and [columns]: one column for two classes, one per class otherwise.
    public let weight: [Float]
    public let bias: [Float]
    public let inputCount: Int
    public let classCount: Int
    public let epochLosses: [Double]
    /// With a validation set: what early stopping did.
    public var validationReport: LinearModelTrainer.ValidationReport? = nil

    public var outputCount: Int { classCount }
    public var outputKind: ModelFormat.OutputKind { classCount == 2 ? .probabilities : .scores }

    public static func defaultSettings(samples n: Int) -> LinearModelTrainer.Settings {
        LinearModelTrainer.defaults(samples: n, rate: 0.1, decay: 0.1)
    }

    /// The arena bytes `fit` takes (all released on return).
    public static func arenaBytes(for set: SampleSet, settings: LinearModelTrainer.Settings? = nil, validationRows: Int? = nil) -> FitArenaBytes {
        let s = settings ?? defaultSettings(samples: set.count)
        return FitArenaBytes(peak: LinearModelTrainer.columnsFitArenaBytes(for: set, batchSize: s.batchSize, validationRows: validationRows))
    }

    /// With `validation`, stops early on its loss (`LinearModelTrainer.Validation`).
    public static func fit(_ set: SampleSet, settings: LinearModelTrainer.Settings? = nil, validation: SampleSet? = nil, patience: Int = 3,
                           arena: ArenaAllocator) throws -> LogisticRegression {
        let settings = settings ?? defaultSettings(samples: set.count)
        precondition(set.isClassification)
        let k = set.classCount
        let mark = arena.mark()
        defer { arena.reset(to: mark) }
        let result: LinearModelTrainer.Result
        if k == 2 {
            let y = try set.signs(positive: 1, arena: arena)
            let check = try validation.map { v throws(ArenaError) in try LinearModelTrainer.Validation.signs(v, patience: patience, arena: arena) }
            result = try LinearModelTrainer.train(set.features, targets: .signs(y.baseAddress!), columns: 1, loss: .logistic,
                                                  settings: settings, validation: check, arena: arena)
        } else {
            let check = validation.map { LinearModelTrainer.Validation.classes($0, patience: patience) }
            result = try LinearModelTrainer.train(set.features, targets: .classes(set.labels.baseAddress!), columns: k, loss: .logistic,
                                                  settings: settings, validation: check, arena: arena)
        }
        var model = LogisticRegression(weight: result.weight, bias: result.bias, inputCount: set.featureCount, classCount: k,
                                       epochLosses: result.epochLosses)
        model.validationReport = result.validationReport
        return model
    }

    public func predict(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        if classCount == 2 {
            var z = bias[0]
            weight.withUnsafeBufferPointer { z += Kernels.dot(input, $0.baseAddress!, count: inputCount) }
            let p = 1 / (1 + expf(-z))
            output[0] = 1 - p; output[1] = p
        } else {
            LinearScores.compute(input, weight: weight, bias: bias, inputs: inputCount, into: output, vote: nil)
            Kernels.sigmoid(output, into: output, count: classCount)
        }
    }

    /// Two classes: a dense layer with columns (−w/2, w/2) and biases (−b/2, b/2), whose softmax is
    /// exactly [σ(−z), σ(z)] = [1 − p, p]. More classes: dense then sigmoid.
    public var stages: [ModelStage] {
        if classCount == 2 {
            let w2 = weight.flatMap { [-$0 / 2, $0 / 2] }
            return [.dense(weight: w2, bias: [-bias[0] / 2, bias[0] / 2], inputs: inputCount, outputs: 2)]
        }
        return [.dense(weight: weight, bias: bias, inputs: inputCount, outputs: classCount), .activation(.sigmoid)]
    }
}
