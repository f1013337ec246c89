import Arena
import Infer
import Training
import ModelFile
import LowLevel

/// Softmax (multinomial logistic) regression: P(class | x) = softmax(xW + b), trained on the
/// cross-entropy with optional L2 by `LinearModelTrainer`. Outputs probabilities.
public struct SoftmaxRegression: TrainedModel {
    public let weight: [Float]
    public let bias: [Float]
    public let inputCount: Int
    public let classCount: Int
    public let epochLosses: [Double]
    /// With a validation set: what early stopping did.
    public var validationReport: LinearModelTrainer.ValidationReport? = nil

    public var outputCount: Int { classCount }
    public var outputKind: ModelFormat.OutputKind { .probabilities }

    public static func defaultSettings(samples n: Int) -> LinearModelTrainer.Settings {
        LinearModelTrainer.defaults(samples: n, rate: 0.1, decay: 0.1)
    }

    /// The arena bytes `fit` takes (all released on return).
    public static func arenaBytes(for set: SampleSet, settings: LinearModelTrainer.Settings? = nil, validating: Bool = false) -> FitArenaBytes {
        let s = settings ?? defaultSettings(samples: set.count)
        return FitArenaBytes(peak: LinearModelTrainer.arenaBytes(samples: set.count, features: set.featureCount, columns: set.classCount,
                                                                 batchSize: s.batchSize, validating: validating))
    }

    /// With `validation`, stops early on its loss (`LinearModelTrainer.Validation`).
    public static func fit(_ set: SampleSet, settings: LinearModelTrainer.Settings? = nil, validation: SampleSet? = nil, patience: Int = 3,
                           arena: ArenaAllocator) throws -> SoftmaxRegression {
        let settings = settings ?? defaultSettings(samples: set.count)
        precondition(set.isClassification)
        let check = validation.map { LinearModelTrainer.Validation.classes($0, patience: patience) }
        let result = try LinearModelTrainer.train(set.features, targets: .classes(set.labels.baseAddress!), columns: set.classCount,
                                                  loss: .softmax, settings: settings, validation: check, arena: arena)
        var model = SoftmaxRegression(weight: result.weight, bias: result.bias, inputCount: set.featureCount, classCount: set.classCount,
                                      epochLosses: result.epochLosses)
        model.validationReport = result.validationReport
        return model
    }

    public func predict(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        LinearScores.compute(input, weight: weight, bias: bias, inputs: inputCount, into: output, vote: nil)
        Kernels.softmaxRows(output, into: output, rows: 1, columns: classCount)
    }

    public var stages: [ModelStage] { [.dense(weight: weight, bias: bias, inputs: inputCount, outputs: classCount)] }
}
