import ArgumentParser
import Arena
import Classic
import Foundation
import Infer
import Training
import ModelFile
import InferTools
import KernelMachines
import LowLevel

/// `train --cv K`: a grid over one hyper-parameter, scored by K-fold cross-validation.
extension ClassicTraining {
    /// The hyper-parameter a grid search varies (the option given several values) and how to
    /// select one of them; a single setting when no option lists several.
    struct Grid {
        var name: String
        var labels: [String]
        var select: (Train, Int) -> Train
    }

    var grid: Grid {
        let o = options
        func make<T>(_ name: String, _ list: ValueList<T>?, _ apply: @escaping (inout Train, T) -> Void) -> Grid? {
            guard let values = list?.values, values.count > 1 else { return nil }
            return Grid(name: name, labels: list!.texts) { options, i in
                var chosen = options
                apply(&chosen, values[i])
                return chosen
            }
        }
        return make("k", o.kList) { $0.kList = ValueList([$1]) } ?? make("C", o.cList) { $0.cList = ValueList([$1]) }
            ?? make("lambda", o.lambdaList) { $0.lambdaList = ValueList([$1]) } ?? make("sigma", o.sigmaList) { $0.sigmaList = ValueList([$1]) }
            ?? make("degree", o.degreeList) { $0.degreeList = ValueList([$1]) }
            ?? Grid(name: "", labels: ["defaults"]) { options, _ in options }
    }

    /// One grid value's cross-validation: its fold scores (accuracy, or MSE for regression).
    struct CrossValidationRow {
        var label: String
        var scores: [Double]
        var mean: Double
        var spread: Double
    }

    /// K-fold cross-validation of every grid value on the training rows: each fold's model is
    /// fitted on the other folds, in arenas planned for that fold, and scored on the fold.
    /// Returns the table and the index of the best value (highest accuracy or lowest MSE; the
    /// first listed on a tie).
    func crossValidate(_ data: Data, folds k: Int) throws -> (rows: [CrossValidationRow], best: Int) {
        let set = data.train
        guard k <= set.count else { throw ValidationError("--cv \(k) asks for more folds than the \(set.count) training rows") }
        let folds = CrossValidation.folds(of: set, k: k, seed: options.seed ?? 42)
        let grid = self.grid
        var rows: [CrossValidationRow] = []
        for (g, label) in grid.labels.enumerated() {
            let fitter = ClassicTraining(options: grid.select(options, g), console: Console(quiet: true))
            var scores: [Double] = []
            for f in 0..<k {
                let held = folds[f], kept = CrossValidation.complement(of: f, in: folds)
                var fold = data
                let parts = try set.split(kept: kept, held: held)
                (fold.train, fold.test) = (parts.kept, parts.held)
                // The fold's sets point into parts.arena: keep it alive until they are scored.
                try withExtendedLifetime(parts.arena) {
                    let (model, work) = try fitter.fitInPlannedArena(fold)
                    scores.append(try score(model, on: fold.test, arena: work))
                }
            }
            let (mean, spread) = CrossValidation.summary(scores)
            rows.append(CrossValidationRow(label: label, scores: scores, mean: mean, spread: spread))
            let what = set.isClassification ? "accuracy" : "MSE"
            console.line(String(format: "cv %@%@: %@ %.4f ± %.4f over %d folds", grid.name.isEmpty ? "" : grid.name + "=", label, what,
                                mean, spread, k))
        }
        let best = set.isClassification ? rows.indices.max { rows[$0].mean < rows[$1].mean || (rows[$0].mean == rows[$1].mean && $0 > $1) }!
                                        : rows.indices.min { rows[$0].mean < rows[$1].mean || (rows[$0].mean == rows[$1].mean && $0 < $1) }!
        return (rows, best)
    }

    /// Fits on `data.train` in a work arena planned for it (the arena is returned with the model,
    /// which may keep memory in it).
    func fitInPlannedArena(_ data: Data) throws -> (model: any TrainedModel, arena: ArenaAllocator) {
        let work = try ArenaAllocator(capacity: try workPlan(data).bytes)
        var details: [String: Any] = [:]
        return (try fit(data, arena: work, details: &details), work)
    }

    /// A fitted model's score on `set`: accuracy for classification, mean squared error for regression.
    func score(_ model: any TrainedModel, on set: SampleSet, arena: ArenaAllocator) throws -> Double {
        set.isClassification ? try model.accuracy(on: set, arena: arena) : try model.meanSquaredError(on: set, arena: arena)
    }

    /// `--model knn --k 1,3,5,... --sweep`: each k fitted on all training rows and scored on the
    /// training and the test rows, the bias-variance picture (1-NN fits its training rows
    /// perfectly; a larger k smooths). No model is chosen: the test rows are not for choosing.
    func sweep(_ data: Data) throws {
        let grid = self.grid
        var rows: [[String: Any]] = []
        for (g, label) in grid.labels.enumerated() {
            let fitter = ClassicTraining(options: grid.select(options, g), console: Console(quiet: true))
            let (model, work) = try fitter.fitInPlannedArena(data)
            let regression = !data.train.isClassification
            // Errors: MSE as it is, accuracy turned into the misclassified fraction.
            func error(_ set: SampleSet) throws -> Double { regression ? try score(model, on: set, arena: work) : 1 - (try score(model, on: set, arena: work)) }
            let train = try error(data.train), test = try error(data.test)
            let what = regression ? "MSE" : "error"
            console.line(String(format: "k=%@: training %@ %.4f, test %@ %.4f", label, what, train, what, test))
            rows.append(["k": Int(label) ?? 0, regression ? "train_mse" : "train_error": train, regression ? "test_mse" : "test_error": test])
        }
        if options.json { print(JSONText.encode(["model": options.model, "dataset": data.name, "sweep": rows])) }
    }
}
