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
import MNIST

/// `train --model perceptron|linear|…`: fits a classic model on MNIST or a small CSV data set,
/// evaluates it on the test part, and optionally writes the model file.
struct ClassicTraining {
    static let models = ["perceptron", "linear", "ridge", "lasso", "tls", "logistic", "softmax", "svm",
                         "kernel-svm", "kernel-ridge", "kernel-logistic", "knn", "kernel-smoothing", "local-linear", "pca"]
    static let regressionModels: Set = ["linear", "ridge", "lasso", "tls", "kernel-ridge", "kernel-smoothing", "local-linear"]
    static let smallDataSets = ["iris", "wine", "breast_cancer", "diabetes"]

    let options: Train
    let console: Console

    static func validate(_ o: Train) throws {
        let networkOnly: [(String, Bool)] = [("--layers", o.layers != nil), ("--hidden", o.hidden != nil), ("--activation", o.activation != nil),
                                             ("--optimizer", o.optimizer != nil), ("--momentum", o.momentum != nil),
                                             ("--weight-decay", o.weightDecay != nil), ("--schedule", o.schedule != nil),
                                             ("--checkpoint", o.checkpoint != nil), ("--resume", o.resume != nil)]
        if let flag = networkOnly.first(where: \.1) { throw ValidationError("\(flag.0) is for the networks (mlp, lenet, custom), not --model \(o.model)") }
        guard o.dataset == "mnist" || smallDataSets.contains(o.dataset) else {
            throw ValidationError("unknown --dataset '\(o.dataset)'; available: mnist, \(smallDataSets.joined(separator: ", "))")
        }
        for k in o.kList?.values ?? [] where !(1...ModelFormat.maxNeighbours).contains(k) {
            throw ValidationError("--k must be between 1 and \(ModelFormat.maxNeighbours), not \(k)")
        }
        if let d = o.distance, d != "mahalanobis", DistanceMetric(rawValue: d) == nil {
            throw ValidationError("unknown --distance '\(d)'; available: l1, l2, linf, cosine, mahalanobis")
        }
        if let m = o.multiclass, MulticlassStrategy(rawValue: m) == nil { throw ValidationError("unknown --multiclass '\(m)'; available: ova, ovo") }
        if let rule = o.stop, Perceptron.StopRule(rawValue: rule) == nil {
            throw ValidationError("unknown --stop '\(rule)'; available: \(Perceptron.StopRule.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        if (o.stop != nil || (o.patience != nil && o.validationFraction == nil) || o.tol != nil) && o.model != "perceptron" {
            throw ValidationError("--stop, --patience and --tol are for --model perceptron (--patience also goes with --validation-fraction)")
        }
        if let f = o.validationFraction {
            guard earlyStoppingModels.contains(o.model) else {
                throw ValidationError("--validation-fraction stops gradient training early: for the networks and --model \(earlyStoppingModels.sorted().joined(separator: ", ")), not \(o.model)")
            }
            if let problem = ValidationSplit(fraction: f, patience: o.patience ?? ValidationSplit.defaultPatience).problem { throw ValidationError(problem) }
            if o.model == "svm" && o.multiclass == "ovo" { throw ValidationError("--validation-fraction works with --multiclass ova, not ovo") }
            if o.cv != nil { throw ValidationError("--validation-fraction and --cv are two ways to hold rows out: choose one") }
        }
        if let p = o.patience, p < 1 { throw ValidationError("--patience must be at least 1, not \(p)") }
        if let t = o.tol, !(t >= 0 && t.isFinite) { throw ValidationError("--tol must be 0 or more, not \(t)") }
        for c in o.cList?.values ?? [] where !(c > 0 && c.isFinite) { throw ValidationError("--C must be a positive number, not \(c)") }
        for l in o.lambdaList?.values ?? [] where !(l >= 0 && l.isFinite) { throw ValidationError("--lambda must be 0 or more, not \(l)") }
        let lists = [("--k", o.kList?.values.count), ("--degree", o.degreeList?.values.count), ("--sigma", o.sigmaList?.values.count),
                     ("--C", o.cList?.values.count), ("--lambda", o.lambdaList?.values.count)].filter { ($0.1 ?? 0) > 1 }
        if lists.count > 1 { throw ValidationError("a grid search varies one hyper-parameter; \(lists.map(\.0).joined(separator: " and ")) both list values") }
        if let list = lists.first, o.cv == nil, !(list.0 == "--k" && o.sweep) {
            throw ValidationError("\(list.0) lists several values: add --cv K to choose among them by K-fold cross-validation\(list.0 == "--k" ? ", or --sweep to see k-NN's training and test error for each" : "")")
        }
        if o.sweep {
            guard o.model == "knn", (o.kList?.values.count ?? 0) > 1, o.cv == nil, o.output == nil else {
                throw ValidationError("--sweep goes with --model knn and a list of --k values (no --cv, no --output)")
            }
        }
        if let cv = o.cv, cv < 2 { throw ValidationError("--cv must be at least 2 folds, not \(cv)") }
        if o.kernel != nil || o.degreeList != nil || o.sigmaList != nil {
            for (i, _) in (o.degreeList?.values ?? [0]).enumerated() {
                for (j, _) in (o.sigmaList?.values ?? [0]).enumerated() { _ = try kernelSpec(o.selecting(degree: i, sigma: j)) }
            }
        }
        if let t = o.trainLimit, t <= 0 { throw ValidationError("--train-limit must be positive, not \(t)") }
        if let e = o.epochs, e <= 0 { throw ValidationError("--epochs must be positive for \(o.model), not \(e)") }
        if let b = o.batch, b < 0 { throw ValidationError("--batch must be 0 (full batch) or more, not \(b)") }
        if let lr = o.lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be a positive number, not \(lr)") }
        if let decay = o.lrDecay, !(decay >= 0 && decay.isFinite) { throw ValidationError("--lr-decay must be 0 or more, not \(decay)") }
        guard o.threads >= 1 && o.threads <= 64 else { throw ValidationError("--threads must be between 1 and 64, not \(o.threads)") }
    }

    /// Train and test sets in one arena, with what the export needs to know about the input.
    struct Data {
        var train: SampleSet
        var test: SampleSet
        var prefix: [ModelStage]
        var inputShape: (channels: Int, height: Int, width: Int)
        var encoding: ModelFormat.InputEncoding
        var name: String
        /// Rows held out of `train` by --validation-fraction, for early stopping.
        var validation: SampleSet? = nil
    }

    static let earlyStoppingModels: Set = ["logistic", "softmax", "svm", "kernel-logistic"]

    /// The small data set's split, read from --data, else $SMALL_DATA_DIR, else the bundled copy;
    /// with the directory and which of the three it was.
    static func loadSmallSplit(_ options: Train) throws -> (directory: String, source: String, split: (train: TabularData, test: TabularData)) {
        let directory: String, source: String
        if let d = options.data { directory = d; source = "--data" }
        else if let d = ProcessInfo.processInfo.environment["SMALL_DATA_DIR"], !d.isEmpty { directory = d; source = "SMALL_DATA_DIR" }
        else if let url = Bundle.module.url(forResource: "small", withExtension: nil) { directory = url.path; source = "bundled copy" }
        else { throw ValidationError("no data: pass --data DIR or set SMALL_DATA_DIR to the directory holding \(options.dataset).csv") }
        do { return (directory, source, try TabularData.loadSplit(name: options.dataset, directory: directory)) } catch {
            throw ValidationError("\(error)")
        }
    }

    /// Reads the data set, then copies it into an arena of exactly the size it needs, made by
    /// `makeArena` once that size is known.
    func load(makeArena: (Int) throws -> ArenaAllocator) throws -> Data {
        if options.dataset == "mnist" {
            let set = try options.loadData(console)
            let n = min(options.trainLimit ?? set.train.count, set.train.count), d = set.train.pixelsPerImage
            let arena = try makeArena(SampleSet.arenaBytes(rows: n, columns: d) + SampleSet.arenaBytes(rows: set.test.count, columns: d))
            let train = try SampleSet(images: set.train, limit: options.trainLimit, arena: arena)
            let test = try SampleSet(images: set.test, arena: arena)
            return Data(train: train, test: test, prefix: [], inputShape: (1, set.train.rows, set.train.columns), encoding: .pixels, name: "mnist")
        }
        let (directory, source, split) = try Self.loadSmallSplit(options)
        var train = split.train
        if let limit = options.trainLimit, limit < train.rows { train = train.rows(Array(0..<limit)) }
        let scaler = Standardizer(fitting: train)
        console.line("data: \(options.dataset) from \(directory) (\(source)): \(train.rows) training, \(split.test.rows) test rows, \(train.columns) features, standardised on the training rows")
        let arena = try makeArena(SampleSet.arenaBytes(rows: train.rows, columns: train.columns)
                                  + SampleSet.arenaBytes(rows: split.test.rows, columns: train.columns))
        return Data(train: try SampleSet(scaler.apply(train), arena: arena), test: try SampleSet(scaler.apply(split.test), arena: arena),
                    prefix: [scaler.stage], inputShape: (1, 1, train.columns), encoding: .floats, name: options.dataset)
    }

    /// Refuses a regression model on a classification set and the other way round.
    func checkTask(_ data: Data) throws {
        let set = data.train, o = options
        if o.model == "pca" { return } // unsupervised: any set's features
        let isRegression = Self.regressionModels.contains(o.model) || (o.model == "knn" && !set.isClassification)
        if isRegression && set.isClassification { throw ValidationError("--model \(o.model) is a regression model; --dataset diabetes is the regression set") }
        if !isRegression && !set.isClassification { throw ValidationError("--model \(o.model) classifies; \(data.name) is a regression set") }
    }

    func perceptronSettings() -> Perceptron.Settings {
        var s = Perceptron.Settings()
        s.multiclass = MulticlassStrategy(rawValue: options.multiclass ?? "ova")!
        if let average = options.average { s.averaged = average }
        s.threads = options.threads
        if let e = options.epochs { s.maxPasses = e }
        if let rule = options.stop { s.stopRule = Perceptron.StopRule(rawValue: rule)! }
        s.patience = options.patience
        if let tol = options.tol { s.tolerance = tol }
        return s
    }

    func gradientSettings(_ defaults: LinearModelTrainer.Settings, samples n: Int) -> LinearModelTrainer.Settings {
        let o = options
        var s = defaults
        if let e = o.epochs { s.epochs = e }
        if let b = o.batch { s.batchSize = b }
        if let lr = o.lr { s.learningRate = lr }
        if let decay = o.lrDecay { s.decay = decay }
        if let average = o.average { s.averaging = average }
        if let seed = o.seed { s.seed = seed }
        if let c = o.C { s.lambda = 1 / (c * Float(n)) }
        if let l = o.lambda { s.lambda = l }
        return s
    }

    /// `--plot DIR` for the gradient-trained linear models: the loss per epoch (and the held-out rows' loss).
    func plot(_ losses: [Double], validation: [Double]?) throws {
        guard let directory = options.plot else { return }
        let plots = try TrainingPlots(directory: directory)
        let title = "\(options.model): loss per epoch"
        for (e, loss) in losses.enumerated() {
            plots.add("loss.png", title: title, x: "epoch", y: "loss", series: "train (mean over the epoch)", Double(e + 1), loss)
        }
        for (e, loss) in (validation ?? []).enumerated() {
            plots.add("loss.png", title: title, x: "epoch", y: "loss", series: "validation", Double(e + 1), loss)
        }
        try plots.write()
        console.plotsWritten(plots)
    }

    /// Fits the chosen model; `details` collects model-specific figures for the report.
    func fit(_ data: Data, arena: ArenaAllocator, details: inout [String: Any]) throws -> any TrainedModel {
        let set = data.train, o = options
        let n = set.count
        let strategy = MulticlassStrategy(rawValue: o.multiclass ?? "ova")!
        func gradientSettings(_ defaults: LinearModelTrainer.Settings) -> LinearModelTrainer.Settings {
            let s = self.gradientSettings(defaults, samples: n)
            details["epochs"] = s.epochs; details["batch"] = s.batchSize; details["learning_rate"] = Double(s.learningRate)
            details["lambda"] = Double(s.lambda); details["averaging"] = s.averaging
            return s
        }
        switch o.model {
        case "perceptron":
            let s = perceptronSettings()
            let p = try Perceptron.fit(set, settings: s, arena: arena)
            details["mistakes"] = p.totalMistakes
            details["passes"] = p.reports.map(\.passes)
            details["stop"] = p.reports.map(\.stop.rawValue)
            details["multiclass"] = p.multiclass.rawValue
            details["averaged"] = s.averaged
            details["stop_rule"] = s.stopRule.rawValue
            details["patience"] = s.effectivePatience
            let reasons = Dictionary(grouping: p.reports.map(\.stop.rawValue), by: { $0 }).mapValues(\.count)
            let passes = p.reports.map(\.passes)
            console.line("perceptron: \(p.reports.count) binary problem(s), \(passes.min() ?? 0)-\(passes.max() ?? 0) passes; stopped: "
                         + reasons.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)x" }.joined(separator: ", ")
                         + " (rule: \(s.stopRule.rawValue), patience \(s.effectivePatience)\(s.stopRule == .loss ? ", tol \(s.tolerance)" : ""))")
            return p
        case "linear", "ridge":
            var s = LinearRegression.Settings()
            s.lambda = o.model == "ridge" ? Double(o.lambda ?? 0.01) : 0
            let (x, y) = set.doubles()
            let m = try LinearRegression.fit(x: x, y: y, columns: set.featureCount, settings: s)
            details["solver"] = m.solverUsed.rawValue; details["rank"] = m.rank; details["lambda"] = s.lambda
            return m
        case "lasso":
            var s = Lasso.Settings()
            s.lambda = Double(o.lambda ?? 0.1)
            let (x, y) = set.doubles()
            let m = try Lasso.fit(x: x, y: y, columns: set.featureCount, settings: s)
            details["sweeps"] = m.sweeps; details["converged"] = m.converged; details["lambda"] = s.lambda
            details["nonzero_weights"] = m.weights.filter { $0 != 0 }.count
            return m
        case "tls":
            let (x, y) = set.doubles()
            return try TotalLeastSquares.fit(x: x, y: y, columns: set.featureCount)
        case "logistic":
            let m = try LogisticRegression.fit(set, settings: gradientSettings(LogisticRegression.defaultSettings(samples: n)),
                                               validation: data.validation, patience: o.patience ?? ValidationSplit.defaultPatience, arena: arena)
            details["final_loss"] = m.epochLosses.last ?? .nan
            report(m.validationReport, &details)
            try plot(m.epochLosses, validation: m.validationReport?.losses)
            return m
        case "softmax":
            let m = try SoftmaxRegression.fit(set, settings: gradientSettings(SoftmaxRegression.defaultSettings(samples: n)),
                                              validation: data.validation, patience: o.patience ?? ValidationSplit.defaultPatience, arena: arena)
            details["final_loss"] = m.epochLosses.last ?? .nan
            report(m.validationReport, &details)
            try plot(m.epochLosses, validation: m.validationReport?.losses)
            return m
        case "svm":
            let m = try LinearSVM.fit(set, multiclass: strategy, settings: gradientSettings(LinearSVM.defaultSettings(samples: n)),
                                      validation: data.validation, patience: o.patience ?? ValidationSplit.defaultPatience, arena: arena)
            details["final_loss"] = m.epochLosses.last ?? .nan
            report(m.validationReport, &details)
            try plot(m.epochLosses, validation: m.validationReport?.losses)
            details["multiclass"] = m.multiclass.rawValue
            return m
        case "kernel-svm", "kernel-ridge", "kernel-logistic":
            let spec = try Self.kernelSpec(o)
            details["kernel"] = spec.description
            do {
                switch o.model {
                case "kernel-svm":
                    let m = try KernelSVM.fit(set, kernel: spec, C: o.C ?? 1, arena: arena)
                    details["support_vectors"] = m.report.supportVectors
                    details["smo_iterations"] = m.report.iterations
                    details["converged"] = m.report.converged
                    details["C"] = Double(o.C ?? 1)
                    details["kernel"] = m.kernel.description
                    return m
                case "kernel-ridge":
                    let m = try KernelRidge.fit(set, kernel: spec, lambda: o.lambda ?? 1e-3, arena: arena)
                    details["lambda"] = Double(m.lambda)
                    details["kernel"] = m.kernel.description
                    return m
                default:
                    let m = try KernelLogisticRegression.fit(set, kernel: spec, lambda: o.lambda ?? 1e-3, iterations: o.epochs ?? 2000,
                                                             validation: data.validation, patience: o.patience ?? ValidationSplit.defaultPatience, arena: arena)
                    report(m.validationReport, &details)
                    details["lambda"] = Double(m.lambda); details["iterations"] = m.iterations; details["converged"] = m.converged
                    details["kernel"] = m.kernel.description
                    return m
                }
            } catch { throw ValidationError("\(o.model): \(error)") }
        case "knn", "kernel-smoothing", "local-linear":
            let k = o.k ?? 5
            var distance = NearestNeighbours.Distance.metric(.l2)
            if let d = o.distance { distance = d == "mahalanobis" ? .mahalanobis(matrix: nil) : .metric(DistanceMetric(rawValue: d)!) }
            let mode: NeighbourMode
            switch o.model {
            case "kernel-smoothing":
                do { mode = .kernelSmoothing(try Self.kernelSpec(o).resolved(for: set.features)) }
                catch let e as KernelMachineError { throw ValidationError("--kernel: \(e)") }
            case "local-linear": mode = .localLinear(sigma: o.sigma ?? KernelSpec.scaleSigma(set.features))
            default: mode = .regress
            }
            details["k"] = k; details["distance"] = o.distance ?? "l2"
            do { return try NearestNeighbours.fit(set, k: k, distance: distance, regression: mode, arena: arena) }
            catch let e as NearestNeighbours.FitError { throw ValidationError(e.description) }
        case "pca":
            do {
                let m = try PrincipalComponents.fit(set, components: o.components ?? 2, arena: arena)
                details["components"] = m.componentCount
                return m
            } catch let e as PrincipalComponents.FitError { throw ValidationError(e.description) }
        default:
            throw ValidationError("unknown model \(o.model)")
        }
    }

    /// Early stopping's outcome in the report and on the console.
    func report(_ validation: LinearModelTrainer.ValidationReport?, _ details: inout [String: Any]) {
        guard let validation else { return }
        details["best_epoch"] = validation.bestEpoch
        details["stopped_early"] = validation.stoppedEarly
        details["validation_loss"] = validation.losses[validation.bestEpoch - 1]
        details["epochs_run"] = validation.losses.count
        console.line(String(format: "early stopping: %@; weights from epoch %d (validation loss %.4f)",
                            validation.stoppedEarly ? "stopped after epoch \(validation.losses.count): no lower validation loss for \(options.patience ?? ValidationSplit.defaultPatience) epochs"
                                                    : "no early stop in \(validation.losses.count) epochs", validation.bestEpoch, validation.losses[validation.bestEpoch - 1]))
    }

    /// The kernel from --kernel/--degree/--sigma, for the kernel machines and kernel smoothing.
    /// Without --sigma, rbf's σ is d·Var(X) (scikit-learn's gamma = "scale") and laplace's its
    /// square root, chosen from the training data (`KernelSpec.resolved(for:)`). The given
    /// parameters are checked here, so bad ones fail before any data is read.
    static func kernelSpec(_ o: Train) throws -> KernelSpec {
        let spec: KernelSpec
        switch o.kernel ?? "rbf" {
        case "linear": spec = .linear
        case "poly": spec = .polynomial(degree: o.degree ?? 3)
        case "rbf": spec = .gaussian(sigma: o.sigma)
        case "laplace": spec = .laplace(sigma: o.sigma)
        default: throw ValidationError("unknown --kernel '\(o.kernel!)'; available: linear, poly, rbf, laplace")
        }
        let check: KernelFunction = switch spec {
        case .linear: .linear
        case .polynomial(let p): .polynomial(degree: p)
        case .gaussian(let s): .gaussian(sigma: s ?? 1)
        case .laplace(let s): .laplace(sigma: s ?? 1)
        }
        if let problem = check.problem { throw ValidationError("--kernel: \(problem)") }
        return spec
    }

    func run() throws {
        var dataArena: ArenaAllocator?
        let loaded = try load { bytes in
            let arena = try ArenaAllocator(capacity: bytes)
            dataArena = arena
            return arena
        }
        try checkTask(loaded)
        var data = loaded
        var splitArena: ArenaAllocator? = nil
        if let fraction = options.validationFraction {
            let (kept, held) = CrossValidation.holdOut(data.train, fraction: fraction, seed: options.seed ?? 42)
            guard !kept.isEmpty && !held.isEmpty else { throw ValidationError("--validation-fraction \(fraction) leaves no rows on one side of \(data.train.count)") }
            let whole = data.train
            let parts = try whole.split(kept: kept, held: held)
            (data.train, data.validation, splitArena) = (parts.kept, parts.held, parts.arena)
            console.line("validation: \(held.count) of the \(whole.count) training rows held out (stratified); training stops after \(options.patience ?? ValidationSplit.defaultPatience) epochs without a lower validation loss")
        }
        var crossValidation: [String: Any]? = nil
        if options.sweep { return try sweep(data) }
        if let k = options.cv {
            let grid = self.grid
            let (rows, best) = try crossValidate(data, folds: k)
            if !grid.name.isEmpty { console.line("cv: best \(grid.name)=\(grid.labels[best]); training it on all \(data.train.count) training rows") }
            crossValidation = ["folds": k, "parameter": grid.name, "best": grid.labels[best],
                               "metric": data.train.isClassification ? "accuracy" : "mse",
                               "settings": rows.map { ["value": $0.label, "mean": $0.mean, "spread": $0.spread, "scores": $0.scores] as [String: Any] }]
            return try ClassicTraining(options: grid.select(options, best), console: console).fitAndReport(data, dataArenas: [dataArena!],
                                                                                                       crossValidation: crossValidation)
        }
        try fitAndReport(data, dataArenas: [dataArena!] + (splitArena.map { [$0] } ?? []), crossValidation: nil)
    }

    /// Fits on the whole training set, evaluates, exports and reports (after any cross-validation).
    func fitAndReport(_ data: Data, dataArenas: [ArenaAllocator], crossValidation: [String: Any]?) throws {
        let plan = try workPlan(data)
        let big = try ArenaAllocator(capacity: plan.bytes)
        let dataBytes = dataArenas.reduce(0) { $0 + $1.capacity }
        console.line("model: \(options.model); arena: \(dataBytes + big.capacity) bytes (data \(dataBytes), fit peak \(plan.fit.peak), "
                     + "model \(plan.fit.kept) + evaluation \(plan.evaluation)\(plan.exact ? "" : "; an upper bound: it assumes every training sample becomes a support vector")); "
                     + "\(BLAS.kernelReport), \(BLAS.threads) thread(s)")
        var details: [String: Any] = [:]
        let fitStart = MonotonicClock.now()
        let model = try fit(data, arena: big, details: &details)
        let fitSeconds = MonotonicClock.seconds(since: fitStart)
        console.line(String(format: "fit: %.3f s", fitSeconds))

        var result: [String: Any] = ["model": options.model, "dataset": data.name, "train_samples": data.train.count,
                                     "test_samples": data.test.count, "features": data.train.featureCount,
                                     "fit_seconds": fitSeconds, "threads": BLAS.threads, "blas_kernel": BLAS.coreName,
                                     "output_kind": ["values", "probabilities", "scores"][Int(model.outputKind.rawValue)]]
        let predictStart = MonotonicClock.now()
        if let pca = model as? PrincipalComponents {
            let test = pca.reconstructionError(on: data.test), train = pca.reconstructionError(on: data.train)
            let n = Double(data.train.count)
            let eckartYoung = pca.variances.dropFirst(pca.componentCount).reduce(0, +) * (n - 1) / n
            result["explained_variance_ratio"] = pca.explainedVarianceRatio
            result["train_reconstruction_mse"] = train; result["test_reconstruction_mse"] = test
            result["eckart_young_train_mse"] = eckartYoung; result["predict_seconds"] = MonotonicClock.seconds(since: predictStart)
            console.line(String(format: "PCA, %d components: %.2f%% of the variance; reconstruction error per row: train %.4g (Eckart–Young: %.4g), test %.4g",
                                pca.componentCount, pca.explainedVarianceRatio * 100, train, eckartYoung, test))
        } else if data.test.isClassification {
            let test = try model.accuracy(on: data.test, arena: big)
            let predictSeconds = MonotonicClock.seconds(since: predictStart)
            result["test_accuracy"] = test; result["predict_seconds"] = predictSeconds
            // Neighbour models search the whole training set per query: skip the (n²) training
            // accuracy on large sets.
            if skipsTrainingAccuracy(data.train) {
                console.line(String(format: "test accuracy %.2f%%; predicting %d test samples took %.3f s (training accuracy skipped: %d queries against themselves)",
                                    test * 100, data.test.count, predictSeconds, data.train.count))
            } else {
                let train = try model.accuracy(on: data.train, arena: big)
                result["train_accuracy"] = train
                console.line(String(format: "test accuracy %.2f%%, train accuracy %.2f%%; predicting %d test samples took %.3f s",
                                    test * 100, train * 100, data.test.count, predictSeconds))
            }
        } else {
            let test = try model.meanSquaredError(on: data.test, arena: big)
            let predictSeconds = MonotonicClock.seconds(since: predictStart)
            let train = try model.meanSquaredError(on: data.train, arena: big)
            let r2 = MeanSquaredError.rSquared(mse: test, targets: data.test.targets)
            result["test_mse"] = test; result["train_mse"] = train; result["test_r2"] = r2; result["predict_seconds"] = predictSeconds
            console.line(String(format: "test MSE %.4g (R² %.4f), train MSE %.4g; predicting %d test samples took %.3f s",
                                test, r2, train, data.test.count, predictSeconds))
        }
        let peak = dataArenas.reduce(0) { $0 + $1.highWaterMark } + big.highWaterMark
        result["arena_bytes"] = dataBytes + big.capacity
        result["arena_peak_bytes"] = peak
        result["arena_plan_exact"] = plan.exact
        if !plan.exact { console.line("arena peak \(peak) of the \(dataBytes + big.capacity) bytes planned") }
        for (key, value) in details { result[key] = value }
        if let crossValidation { result["cross_validation"] = crossValidation }
        if let output = options.output {
            let description = ModelWriter.Description(inputShape: data.inputShape, outputKind: model.outputKind, inputEncoding: data.encoding)
            let bytes: [UInt8]
            do { bytes = try ModelWriter.encode(stages: data.prefix + model.stages, description: description) }
            catch { throw ValidationError("cannot export: \(error)") }
            do { try AtomicFile.write(bytes, to: output) } catch { throw ValidationError("cannot write \(output): \(error)") }
            console.line("model file: \(output) (\(bytes.count) bytes)")
            result["output"] = output
            result["file_bytes"] = bytes.count
        }
        if options.json {
            print(JSONText.encode(result))
        }
    }
}
