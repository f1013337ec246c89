import Testing
import Foundation
import Arena
import Classic
import Infer
import Training
import ModelFile
import ToolRunner

@Suite struct CrossValidationTests {
    /// Every row in exactly one fold; fold sizes within one of each other; each class spread over
    /// the folds within one row (stratified); the same seed gives the same folds, another seed others.
    @Test(arguments: [2, 3, 5, 10]) func foldsPartitionAndStratify(k: Int) throws {
        let arena = try ArenaAllocator(capacity: 1 << 20)
        let data = try SmallSplit("wine", arena: arena)
        let folds = CrossValidation.folds(of: data.train, k: k, seed: 7)
        #expect(folds.count == k)
        #expect(folds.flatMap { $0 }.sorted() == Array(0..<data.train.count))
        let sizes = folds.map(\.count)
        #expect(sizes.max()! - sizes.min()! <= 1)
        for c in 0..<data.train.classCount {
            let perFold = folds.map { fold in fold.filter { Int(data.train.labels[$0]) == c }.count }
            #expect(perFold.max()! - perFold.min()! <= 1, "class \(c): \(perFold)")
        }
        #expect(CrossValidation.folds(of: data.train, k: k, seed: 7) == folds)
        #expect(CrossValidation.folds(of: data.train, k: k, seed: 8) != folds)
        #expect(CrossValidation.complement(of: 0, in: folds).count == data.train.count - folds[0].count)
    }

    @Test func summaryIsTheMeanAndSampleStandardDeviation() {
        let (mean, spread) = CrossValidation.summary([0.5, 0.7, 0.9])
        #expect(abs(mean - 0.7) < 1e-12 && abs(spread - 0.2) < 1e-12)
    }

    /// `train --cv 5 --k 1,3,...` on iris picks the k a brute-force loop picks: every k, every
    /// fold, fitted and scored here directly, with the same folds; the table's means agree.
    @Test func gridSearchOnIrisPicksTheSameKAsABruteForceLoop() throws {
        let ks = [1, 3, 5, 7, 9, 11]
        let r = try ToolRunner.run("train", packageRoot: packageRoot.path, binaryVariable: "TRAIN_BINARY",
                                   arguments: ["--model", "knn", "--dataset", "iris", "--k", ks.map(String.init).joined(separator: ","),
                                               "--cv", "5", "--seed", "3", "--json"],
                                   environment: ["SMALL_DATA_DIR": nil])
        try #require(r.status == 0, "\(r.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let table = try #require(report["cross_validation"] as? [String: Any])
        let settings = try #require(table["settings"] as? [[String: Any]])

        let arena = try ArenaAllocator(capacity: 16 << 20)
        let data = try SmallSplit("iris", arena: arena)
        let folds = CrossValidation.folds(of: data.train, k: 5, seed: 3)
        var means: [Double] = []
        for k in ks {
            var total = 0.0
            for f in 0..<5 {
                let mark = arena.mark()
                defer { arena.reset(to: mark) }
                let held = try data.train.subset(folds[f], arena: arena)
                let kept = try data.train.subset(CrossValidation.complement(of: f, in: folds), arena: arena)
                let model = try NearestNeighbours.fit(kept, k: k, arena: arena)
                var right = 0
                var out = [Float](repeating: 0, count: 3)
                for i in 0..<held.count {
                    model.predict(held.features.row(i), into: &out)
                    if out.indices.max(by: { out[$0] < out[$1] || (out[$0] == out[$1] && $0 > $1) }) == Int(held.labels[i]) { right += 1 }
                }
                total += Double(right) / Double(held.count)
            }
            means.append(total / 5)
        }
        let best = means.indices.max { means[$0] < means[$1] || (means[$0] == means[$1] && $0 > $1) }!
        #expect(table["best"] as? String == String(ks[best]), "brute force: \(means)")
        #expect(report["k"] as? Int == ks[best])
        for (i, row) in settings.enumerated() {
            #expect(abs((row["mean"] as? Double ?? -1) - means[i]) < 1e-12, "k = \(ks[i])")
            #expect((row["scores"] as? [Double])?.count == 5)
        }
    }

    @Test func gridOptionsAreChecked() throws {
        for (arguments, needle) in [(["--k", "1,3"], "--cv"), (["--k", "1,3", "--C", "1,2", "--cv", "3"], "one hyper-parameter"),
                                    (["--k", "1,x", "--cv", "3"], "--k"), (["--k", "3", "--cv", "1"], "at least 2"),
                                    (["--k", "3", "--cv", "500"], "more folds")] {
            let r = try ToolRunner.run("train", packageRoot: packageRoot.path, binaryVariable: "TRAIN_BINARY",
                                       arguments: ["--model", "knn", "--dataset", "iris"] + arguments, environment: ["SMALL_DATA_DIR": nil])
            #expect(r.status != 0 && r.stderr.contains(needle), "\(arguments): \(r.stderr)")
        }
    }

    /// Gradient training with held-out rows stops `patience` epochs after the validation loss
    /// last fell and returns that epoch's weights: exactly those of a run cut off there.
    @Test(arguments: [1, 3]) func linearTrainingStopsWhereTheValidationLossTurnedUp(patience: Int) throws {
        let arena = try ArenaAllocator(capacity: 64 << 20)
        let data = try SmallSplit("breast_cancer", arena: arena)
        let (kept, held) = CrossValidation.holdOut(data.train, fraction: 0.3, seed: 5)
        let train = try data.train.subset(kept, arena: arena), validation = try data.train.subset(held, arena: arena)
        var settings = LinearModelTrainer.Settings()
        settings.epochs = 400; settings.batchSize = 8; settings.learningRate = 0.5; settings.lambda = 0; settings.averaging = false
        let y = try train.signs(positive: 1, arena: arena), yv = try validation.signs(positive: 1, arena: arena)
        let stopped = try LinearModelTrainer.train(train.features, targets: .signs(y.baseAddress!), columns: 1, loss: .logistic, settings: settings,
                                                   validation: .init(x: validation.features, targets: .signs(yv.baseAddress!), patience: patience),
                                                   arena: arena)
        let losses = stopped.validationLosses
        let best = try #require(stopped.bestEpoch)
        #expect(stopped.stoppedEarly && losses.count == best + patience, "\(losses.count) epochs, best \(best)")
        #expect(losses[best - 1] == losses.min())
        var cut = settings
        cut.epochs = best
        let reference = try LinearModelTrainer.train(train.features, targets: .signs(y.baseAddress!), columns: 1, loss: .logistic, settings: cut,
                                                     arena: arena)
        #expect(stopped.weight == reference.weight && stopped.bias == reference.bias)
    }

    @Test func earlyStoppingOptionsAreChecked() throws {
        for (arguments, needle) in [(["--model", "knn", "--validation-fraction", "0.2"], "not knn"),
                                    (["--model", "svm", "--multiclass", "ovo", "--validation-fraction", "0.2"], "not ovo"),
                                    (["--model", "softmax", "--validation-fraction", "1.5"], "between 0 and 1"),
                                    (["--model", "softmax", "--validation-fraction", "0.2", "--cv", "3"], "choose one")] {
            let r = try ToolRunner.run("train", packageRoot: packageRoot.path, binaryVariable: "TRAIN_BINARY",
                                       arguments: arguments + ["--dataset", "wine"], environment: ["SMALL_DATA_DIR": nil])
            #expect(r.status != 0 && r.stderr.contains(needle), "\(arguments): \(r.stderr)")
        }
    }

    /// `--sweep` (issue 15's bias-variance picture): k-NN's training error is 0 at k = 1 (every
    /// training row is its own nearest neighbour), and each k's test error is what a single run
    /// with that k reports.
    @Test func kSweepReportsTrainingAndTestErrorPerK() throws {
        let ks = [1, 5, 15, 41]
        func run(_ arguments: [String]) throws -> [String: Any] {
            let r = try ToolRunner.run("train", packageRoot: packageRoot.path, binaryVariable: "TRAIN_BINARY",
                                       arguments: ["--model", "knn", "--dataset", "wine", "--json"] + arguments, environment: ["SMALL_DATA_DIR": nil])
            try #require(r.status == 0, "\(r.stderr)")
            return try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        }
        let sweep = try #require(try run(["--k", ks.map(String.init).joined(separator: ","), "--sweep"])["sweep"] as? [[String: Any]])
        #expect(sweep.map { $0["k"] as? Int } == ks)
        #expect(sweep[0]["train_error"] as? Double == 0)
        for row in sweep {
            let single = try run(["--k", "\(row["k"] as! Int)"])
            #expect(abs((row["test_error"] as? Double ?? -1) - (1 - (single["test_accuracy"] as? Double ?? -1))) < 1e-12)
            #expect(abs((row["train_error"] as? Double ?? -1) - (1 - (single["train_accuracy"] as? Double ?? -1))) < 1e-12)
        }
    }
}
