import ArgumentParser
import Arena
import Classic
import Foundation
import Infer
import Training
import ModelFile
import KernelMachines
import LowLevel

/// The arenas of a classic model's run, planned before the fit.
extension ClassicTraining {
    /// The work arena's size, planned from the loaded training set and the options before the
    /// fit: the fit's peak, or what the model keeps plus the larger evaluation (test set, and the
    /// training set unless it is skipped), whichever is more. Exact for every model but the
    /// kernel SVM, whose plan assumes every sample becomes a support vector.
    struct WorkPlan {
        var fit: FitArenaBytes
        var evaluation: Int
        var exact: Bool
        var bytes: Int { max(fit.peak, fit.kept + evaluation) }
    }

    /// Whether the training-set accuracy is skipped (neighbour models on large sets: n² queries).
    func skipsTrainingAccuracy(_ set: SampleSet) -> Bool {
        ["knn", "kernel-smoothing", "local-linear"].contains(options.model) && set.isClassification && set.count > 20_000
    }

    func workPlan(_ data: Data) throws -> WorkPlan {
        let set = data.train, o = options, n = set.count
        let strategy = MulticlassStrategy(rawValue: o.multiclass ?? "ova")!
        var fit = FitArenaBytes.none, exact = true
        var prediction: (Int) -> Int = { _ in 0 }
        switch o.model {
        case "perceptron": fit = Perceptron.arenaBytes(for: set, settings: perceptronSettings())
        case "logistic":
            fit = LogisticRegression.arenaBytes(for: set, settings: gradientSettings(LogisticRegression.defaultSettings(samples: n), samples: n),
                                                validationRows: data.validation?.count)
        case "softmax":
            fit = SoftmaxRegression.arenaBytes(for: set, settings: gradientSettings(SoftmaxRegression.defaultSettings(samples: n), samples: n),
                                               validating: data.validation != nil)
        case "svm":
            fit = LinearSVM.arenaBytes(for: set, multiclass: strategy, settings: gradientSettings(LinearSVM.defaultSettings(samples: n), samples: n),
                                       validationRows: data.validation?.count)
        case "kernel-svm":
            fit = KernelSVM.arenaBytes(for: set)
            exact = false
            let pairs = set.classCount * (set.classCount - 1) / 2
            prediction = { KernelSVM.predictionArenaBytes(rows: $0, supportVectors: n, pairs: pairs) }
        case "kernel-ridge":
            fit = KernelRidge.arenaBytes(for: set)
            prediction = { KernelExpansion.evaluationArenaBytes(rows: $0, points: n) }
        case "kernel-logistic":
            fit = KernelLogisticRegression.arenaBytes(for: set, validationRows: data.validation?.count)
            prediction = { KernelExpansion.evaluationArenaBytes(rows: $0, points: n) }
        case "knn", "kernel-smoothing", "local-linear":
            fit = NearestNeighbours.arenaBytes(for: set)
            let mode: NeighbourMode = set.isClassification ? .classify(classes: set.classCount)
                : o.model == "knn" ? .regress : o.model == "local-linear" ? .localLinear(sigma: 1) : .kernelSmoothing(.linear)
            let metric = o.distance.flatMap { DistanceMetric(rawValue: $0) } ?? .l2
            let blocked = NearestNeighbours.searchesInBlocks(mode, metric, mapped: o.distance == "mahalanobis")
            let k = o.k ?? 5
            prediction = { NearestNeighbours.predictionArenaBytes(rows: $0, points: n, k: k, blocked: blocked) }
        case "pca":
            // Its evaluation (reconstruction errors) works in Swift arrays.
            return WorkPlan(fit: PrincipalComponents.arenaBytes(for: set), evaluation: 0, exact: true)
        default: // the least-squares models work in Swift arrays
            break
        }
        let outputs = set.isClassification ? set.classCount : 1
        let rows = [data.test.count] + (skipsTrainingAccuracy(set) ? [] : [n])
        let evaluation = rows.map { ArenaAllocator.footprint(of: Float.self, count: $0 * outputs) + prediction($0) }.max() ?? 0
        return WorkPlan(fit: fit, evaluation: evaluation, exact: exact)
    }
}
