import ArgumentParser
import Foundation
import Infer
import Training
import ModelFile
import InferTools
import LowLevel
import MNIST

@main
struct Train: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "train",
        abstract: "Train a model on MNIST in fixed memory.",
        discussion: """
        Data: --data DIR, else the MNIST_DIR environment variable, else a small bundled sample \
        (1,000 training and 200 test digits) so the command runs anywhere. DIR holds the four MNIST \
        files (train-images-idx3-ubyte[.gz], train-labels-idx1-ubyte[.gz], t10k-images-idx3-ubyte[.gz], \
        t10k-labels-idx1-ubyte[.gz]).

        Defaults reach about 98% test accuracy with --model mlp --hidden 128 in 5 epochs.
        """)

    @Option(help: "Model kind: mlp, lenet (LeNet-5 for 28x28), custom (with --layers), gpt (a character GPT on a text), vit (a vision transformer on MNIST), gan (a generative adversarial network on MNIST), flow (a RealNVP normalising flow on MNIST), diffusion (a DDPM's U-Net on MNIST; training only so far), or a classic model: \(ClassicTraining.models.joined(separator: ", ")).")
    var model: String = "mlp"
    @Option(help: "Layer list for --model custom, e.g. \"conv:8,3x3,p=same relu maxpool:2 flatten dense:10\" (see LayerList); for --model gpt, the number of blocks (default 4).")
    var layers: String?
    @Option(help: "Hidden layer widths, comma-separated (e.g. 256,128); --model gan: the generator's (default 256,512,1024).") var hidden: String?
    @Option(help: "Hidden activation: relu, elu, sigmoid, tanh.") var activation: String?
    @Option(help: "Total epochs (a resumed run continues up to this many).") var epochs: Int?
    @Option(help: "Minibatch size.") var batch: Int?
    @Option(help: "Base learning rate (default 0.05 for momentum, 0.1 for sgd, 0.001 for adam).") var lr: Float?
    @Option(help: "Optimizer: sgd, momentum, adam, adamw (decoupled --weight-decay), adagrad, lamb (layer-wise trust ratio; --weight-decay is its decoupled decay).") var optimizer: String?
    @Option(help: "Momentum coefficient for --optimizer momentum.") var momentum: Float?
    @Option(name: .customLong("weight-decay"), help: "L2 weight decay on weights (not biases).") var weightDecay: Float?
    @Option(help: "Learning-rate schedule: constant, step:E1,E2 (divide by 10 at those epochs), inverse-time:C (η0/(1+Ct)), inverse-sqrt:C (η0/√(1+Ct)); t counts updates. --model gan: constant (default) or linear (to 0 at the last update).")
    var schedule: String?
    @Option(help: "Random seed (weights and shuffling).") var seed: UInt64?
    @Option(help: "OpenBLAS threads.") var threads: Int = 1
    @Option(help: "MNIST directory (default: $MNIST_DIR, else the bundled sample).") var data: String?
    @Option(name: .customLong("train-limit"), help: "Use only the first N training samples.") var trainLimit: Int?
    @Option(help: "Write a checkpoint here after every epoch (atomically); --model gpt: at every evaluation.") var checkpoint: String?
    @Option(help: "Continue from this checkpoint (ends bit-identical to an uninterrupted run).") var resume: String?
    @Option(help: "Data set for classic models and --model mlp: mnist, or iris, wine, breast_cancer, diabetes (CSV with a fixed split; directory from --data, $SMALL_DATA_DIR, else the bundled copy).")
    var dataset: String = "mnist"
    @Option(name: .customLong("k"), help: "Neighbours for knn (a list such as 1,3,5 with --cv: a grid search).") var kList: ValueList<Int>?
    @Option(help: "Distance for knn: l1, l2, linf, cosine, mahalanobis (inverse training covariance).") var distance: String?
    @Option(help: "Kernel for kernel models: linear, poly, rbf, laplace.") var kernel: String?
    @Option(name: .customLong("degree"), help: "Degree of the poly kernel (<x,z>+1)^p (or a list with --cv).") var degreeList: ValueList<Int>?
    @Option(name: .customLong("sigma"), help: "Width of the rbf kernel exp(-|x-z|^2/sigma) and laplace kernel exp(-|x-z|/sigma) (default for rbf: features x variance of the training data; or a list with --cv).")
    var sigmaList: ValueList<Float>?
    @Option(name: .customLong("C"), help: "Box constraint / inverse regularisation C (svm, kernel-svm, logistic, softmax: lambda = 1/(C n) for the primal models; or a list such as 0.1,1,10 with --cv).")
    var cList: ValueList<Float>?
    @Option(name: .customLong("lambda"), help: "Regularisation strength lambda (ridge, lasso, kernel-ridge, kernel-logistic, and L2 for the gradient-trained linear models; or a list with --cv).")
    var lambdaList: ValueList<Float>?
    @Option(help: "Classic models: K-fold cross-validation on the training rows (stratified, seeded by --seed), over the values of the one hyper-parameter given as a list; reports each value's mean and spread, then trains the best on all training rows.")
    var cv: Int?
    @Option(help: "Principal components kept by --model pca (default 2).") var components: Int?
    @Flag(help: "--model knn with a list of --k values: fit each on all training rows and report its training and test error (the bias-variance picture); chooses nothing.")
    var sweep = false

    /// These options with only the i-th --degree and the j-th --sigma (checking each kernel).
    func selecting(degree i: Int, sigma j: Int) -> Train {
        var o = self
        if let d = degreeList { o.degreeList = ValueList([d.values[i]]) }
        if let s = sigmaList { o.sigmaList = ValueList([s.values[j]]) }
        return o
    }

    var k: Int? { kList?.values.first }
    var degree: Int? { degreeList?.values.first }
    var sigma: Float? { sigmaList?.values.first }
    var C: Float? { cList?.values.first }
    var lambda: Float? { lambdaList?.values.first }
    @Option(help: "Multiclass strategy for perceptron and svm: ova (one-vs-all) or ovo (one-vs-one).") var multiclass: String?
    @Option(name: .customLong("lr-decay"), help: "Learning-rate decay of the gradient-trained classic models: lr/(1 + decay * epoch).")
    var lrDecay: Float?
    @Flag(inversion: .prefixedNo,
          help: "Average the iterates: the perceptron's over every visit (its default), the gradient-trained classic models' over the second half of training (default for svm).")
    var average: Bool?
    @Option(help: "What stops the perceptron early on data that are not separable: loss (default: the pass's perceptron loss stopped falling by --tol per sample for --patience passes), error (training error unchanged for --patience passes), none (only convergence or --epochs).")
    var stop: String?
    @Option(help: "Passes without improvement before the perceptron stops (default 5 with --stop loss, 50 with --stop error); with --validation-fraction, epochs without a lower validation loss before a network stops (default 3).")
    var patience: Int?
    @Option(name: .customLong("validation-fraction"), help: "Networks: hold out this fraction of the training rows (stratified, chosen by --seed) and stop when their loss has not fallen for --patience epochs, keeping the best epoch's weights.")
    var validationFraction: Double?
    @Option(help: "Least improvement of the perceptron loss per sample that counts, with --stop loss (default 1e-3).")
    var tol: Float?
    @Option(help: "Write the trained model here as a model file (atomically): classic models, and networks (MNIST, or an mlp on a small data set with its standardisation).") var output: String?
    @Flag(help: "--model mlp on a two-class data set: one sigmoid output trained with binary cross-entropy (default: one softmax output per class).")
    var binary = false
    // --model gpt (a character GPT on a text; nanoGPT's CPU configuration by default).
    @Option(help: "--model gpt: the text to train on (default: input.txt in --data DIR, else in $TINYSHAKESPEARE_DIR).") var text: String?
    @Option(help: "--model gpt or vit: attention heads (default 4).") var heads: Int?
    @Option(help: "--model vit: the side of the square patches in pixels, which must divide the image's (default 7: 16 patches of a digit).") var patch: Int?
    @Option(help: "--model gpt or vit: width of the residual stream (default 128 for gpt, 64 for vit).") var width: Int?
    @Option(help: "--model gpt: tokens of context (default 64).") var context: Int?
    @Option(help: "--model gpt: positions, learned (default) or sinusoidal.") var positions: String?
    @Option(help: "--model gan: js (default), js-minimax, kl, wasserstein or mmd. --model gpt: next (a GPT: the next token, causal attention; default) or mlm (BERT's masked tokens: an encoder, 15% of positions chosen, of which 80% masked, 10% a random token, 10% kept).")
    var objective: String?
    @Option(help: "--model gpt: training iterations (default 2000).") var iters: Int?
    @Option(help: "--model gpt: warm-up iterations before the cosine decay (default 100).") var warmup: Int?
    @Option(help: "--model gpt: dropout after the embeddings and on each residual branch (default 0). --model gan: after each hidden layer of the discriminator (default 0.3).") var dropout: Float?
    // --model gan (see GANConfig).
    @Option(help: "--model gan: the latent dimension of z ~ N(0, I) (default 64).") var latent: Int?
    @Option(name: .customLong("discriminator-hidden"), help: "--model gan: the discriminator's hidden widths, comma-separated (default 512,256).")
    var discriminatorHidden: String?
    @Flag(name: .customLong("batch-norm"), inversion: .prefixedNo, help: "--model gan: batch normalisation in the generator's hidden layers, folded into its dense layers on export (default on).")
    var batchNorm: Bool?
    @Option(help: "--model gan and diffusion: export an exponential moving average of the weights (the generator's, the U-Net's) with this decay, 0 for the last weights (default 0.999).")
    var ema: Float?
    // --model flow (see FlowConfig).
    @Option(help: "--model flow: affine coupling layers (default 8).") var couplings: Int?
    @Option(help: "--model flow: filters of each coupling network's hidden convolutions (default 32); --model diffusion: the U-Net's channels at full resolution (default 16).") var filters: Int?
    @Option(help: "--model flow: hidden convolutions per coupling network, the first 3×3 (default 2).") var depth: Int?
    @Option(name: .customLong("logit-margin"), help: "--model flow: α of the logit transform logit(α + (1 − 2α)x) (default 1e-5).") var logitMargin: Float?
    @Option(name: .customLong("inner-kernel"), help: "--model flow: 1 or 3, the kernel of the hidden convolutions after the first (default 3; 1 gives Glow's 3×3-1×1-3×3 network).") var innerKernel: Int?
    @Option(name: .customLong("diffusion-steps"), help: "--model diffusion: steps T of the forward process (default 1000).") var diffusionSteps: Int?
    @Option(help: "--model diffusion: the sampler the model file stores for infer_sample: ode (the probability-flow ODE's DDIM steps, default) or ancestral (DDPM's T steps).") var sampler: String?
    @Option(name: .customLong("sample-steps"), help: "--model diffusion: network evaluations of the ODE sampler (default 100, at most the diffusion's steps).") var sampleSteps: Int?
    @Option(name: .customLong("test-limit"), help: "--model flow: evaluate the test bits per dimension on the first N test digits (default all).") var testLimit: Int?
    @Option(name: .customLong("eval-every"), help: "--model gpt: estimate train and validation loss every N iterations (default 250).") var evalEvery: Int?
    @Option(name: .customLong("eval-iters"), help: "--model gpt: batches per loss estimate (default 20).") var evalIters: Int?
    @Option(help: "--model gpt: micro-batches of --batch windows averaged into each update (default 1).") var accumulate: Int?
    @Flag(inversion: .prefixedNo, help: "--model gpt: biases in the linear layers and layer norms (default: none, as nanoGPT's train.py; its model files have them).")
    var biases: Bool?
    @Option(help: "--model gpt: after training, continue --prompt by this many bytes (stdout, or \"sample\" in --json).") var tokens: Int?
    @Option(help: "--model gpt: the text to continue (default a newline, as nanoGPT's sample.py).") var prompt: String?
    @Option(help: "--model gpt: sampling temperature; 0 picks the most likely byte (default 0.8).") var temperature: Float?
    @Option(name: .customLong("top-k"), help: "--model gpt: sample among the K most likely bytes; 0 for all (default 200, as nanoGPT).") var topK: Int?
    @Option(help: "Draw the training curves as PNG figures in this directory, rewritten after every epoch (--model gpt: every evaluation): loss.png, and accuracy.png for classifiers.")
    var plot: String?
    @Flag(help: "Print one JSON object with the results at the end (progress goes to stderr).") var json = false
    @Flag(help: "No progress output.") var quiet = false

    func validate() throws {
        if plot != nil && !TrainingPlots.models.contains(model) {
            throw ValidationError("--plot draws the curves of models trained by epochs or iterations (\(TrainingPlots.models.joined(separator: ", "))); --model \(model) has none")
        }
        let ganOnly: [(String, Bool)] = [("--latent", latent != nil), ("--discriminator-hidden", discriminatorHidden != nil),
                                         ("--batch-norm", batchNorm != nil), ("--ema", ema != nil && model != "diffusion")]
        if model != "gan", let flag = ganOnly.first(where: \.1) { throw ValidationError("\(flag.0) is for --model gan") }
        let flowOnly: [(String, Bool)] = [("--couplings", couplings != nil), ("--filters", filters != nil && model != "diffusion"), ("--depth", depth != nil),
                                          ("--inner-kernel", innerKernel != nil), ("--logit-margin", logitMargin != nil),
                                          ("--test-limit", testLimit != nil)]
        if model != "flow", let flag = flowOnly.first(where: \.1) { throw ValidationError("\(flag.0) is for --model flow\(flag.0 == "--filters" ? " or diffusion" : "")") }
        if model != "diffusion", let flag = [("--diffusion-steps", diffusionSteps != nil), ("--sampler", sampler != nil),
                                              ("--sample-steps", sampleSteps != nil)].first(where: \.1) {
            throw ValidationError("\(flag.0) is for --model diffusion")
        }
        if model == "flow" { return try FlowCommand.validate(self) }
        if model == "diffusion" { return try DiffusionCommand.validate(self) }
        if ClassicTraining.models.contains(model) { return try ClassicTraining.validate(self) }
        if model == "gpt" { return try GPTCommand.validate(self) }
        if model == "vit" { return try ViTCommand.validate(self) }
        if model == "gan" { return try GANCommand.validate(self) }
        let gptOnly: [(String, Bool)] = [("--text", text != nil), ("--heads", heads != nil), ("--width", width != nil),
                                         ("--context", context != nil), ("--positions", positions != nil), ("--iters", iters != nil),
                                         ("--warmup", warmup != nil), ("--dropout", dropout != nil), ("--eval-every", evalEvery != nil),
                                         ("--eval-iters", evalIters != nil), ("--biases", biases != nil),
                                         ("--tokens", tokens != nil), ("--prompt", prompt != nil), ("--accumulate", accumulate != nil), ("--temperature", temperature != nil),
                                         ("--top-k", topK != nil)]
        if let flag = gptOnly.first(where: \.1) { throw ValidationError("\(flag.0) is for --model gpt") }
        guard ["mlp", "lenet", "custom"].contains(model) else {
            throw ValidationError("unknown --model '\(model)'; available: mlp, lenet, custom (with --layers), gpt, \(ClassicTraining.models.joined(separator: ", "))")
        }
        let classicOnly: [(String, Bool)] = [("--k", k != nil), ("--distance", distance != nil), ("--kernel", kernel != nil),
                                             ("--degree", degree != nil), ("--sigma", sigma != nil), ("--C", C != nil),
                                             ("--lambda", lambda != nil), ("--cv", cv != nil), ("--sweep", sweep), ("--components", components != nil), ("--multiclass", multiclass != nil),
                                             ("--lr-decay", lrDecay != nil), ("--average", average != nil),
                                             ("--stop", stop != nil), ("--tol", tol != nil),
                                             ("--dataset", dataset != "mnist" && model != "mlp")]
        if let flag = classicOnly.first(where: \.1) {
            let networks = flag.0 == "--dataset" ? "; of the networks, --model mlp trains on the small data sets" : ""
            throw ValidationError("\(flag.0) is for the classic models (\(ClassicTraining.models.joined(separator: ", ")))\(networks)")
        }
        if patience != nil && validationFraction == nil {
            throw ValidationError("--patience goes with --validation-fraction for the networks (and with the perceptron's --stop)")
        }
        if binary && dataset == "mnist" { throw ValidationError("--binary is for --model mlp on a two-class small data set, not MNIST") }
        if let f = validationFraction, let problem = ValidationSplit(fraction: f, patience: patience ?? ValidationSplit.defaultPatience).problem {
            throw ValidationError(problem)
        }
        if model == "custom" && layers == nil { throw ValidationError("--model custom needs --layers") }
        if model != "custom" && layers != nil { throw ValidationError("--layers goes with --model custom") }
        if model != "mlp" && (hidden != nil || activation != nil) {
            throw ValidationError("--hidden and --activation are for --model mlp")
        }
        guard threads >= 1 && threads <= 64 else { throw ValidationError("--threads must be between 1 and 64, not \(threads)") }
        if let trainLimit, trainLimit <= 0 { throw ValidationError("--train-limit must be positive, not \(trainLimit)") }
        if let epochs, epochs < 0 { throw ValidationError("--epochs must be 0 or more, not \(epochs)") }
        if let batch, batch <= 0 || batch > 65536 { throw ValidationError("--batch must be between 1 and 65536, not \(batch)") }
        if let lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be a positive number, not \(lr)") }
    }

    mutating func run() throws {
        let console = Console(quiet: quiet)
        BLAS.configure(threads: threads)
        if ClassicTraining.models.contains(model) { return try ClassicTraining(options: self, console: console).run() }
        if model == "gpt" { return try GPTCommand(options: self, console: console).run() }
        if model == "vit" { return try ViTCommand(options: self, console: console).run() }
        if model == "gan" { return try GANCommand(options: self, console: console).run() }
        if model == "flow" { return try FlowCommand(options: self, console: console).run() }
        if model == "diffusion" { return try DiffusionCommand(options: self, console: console).run() }
        let table = dataset == "mnist" ? nil : try TabularNetworkData.load(self, console: console)
        var trainSet: ClassificationSet, testSet: ClassificationSet
        if let table {
            (trainSet, testSet) = (table.train, table.test)
        } else {
            let images = try loadData(console)
            trainSet = ClassificationSet(images: trainLimit.map { images.train.prefix($0) } ?? images.train)
            testSet = ClassificationSet(images: images.test)
        }

        let resumed = try resume.map { path in try Checkpoint.read(path: path) }
        let (spec, config) = try settings(resumed: resumed, inputs: trainSet.featureCount, outputs: table?.outputs ?? 10,
                                          loss: table?.loss ?? .softmaxCrossEntropy)
        var validationSet: ClassificationSet? = nil
        if let split = config.validation {
            (trainSet, validationSet) = trainSet.split(validationFraction: split.fraction, seed: config.seed)
            console.line("validation: \(validationSet!.count) of the training rows held out (stratified), stopping after \(split.patience) epoch(s) without a lower validation loss")
        }
        let run = try TrainingRun(spec: spec, config: config, sampleCount: trainSet.count, resumeFrom: resumed)
        console.line("model: \(run.network.summary)")
        console.line("arena: \(run.arena.capacity) bytes; \(BLAS.kernelReport), \(BLAS.threads) thread(s)")
        console.line("optimizer: \(config.optimizer.kind.rawValue), lr \(config.learningRate), schedule \(config.schedule.text), batch \(config.batchSize), seed \(config.seed)")
        if let resumed {
            console.line("resuming from \(resume!) after epoch \(resumed.header.epoch) of \(config.epochs)")
        }

        var trainSeconds = 0.0, samples = 0
        let plots = try plot.map(TrainingPlots.init)
        let lossName = trainSet.isRegression ? "loss (standardised MSE)" : "loss (cross-entropy)"
        let reports = try run.run(train: trainSet, test: testSet, validation: validationSet, checkpointPath: checkpoint,
                                  progress: { console.progress($0, epochs: config.epochs) },
                                  onEpoch: { report in
            trainSeconds += report.result.seconds
            samples += report.result.samples
            console.epochDone(report, epochs: config.epochs)
            if let plots {
                let epoch = Double(report.result.epoch), title = "\(model): loss per epoch"
                plots.add("loss.png", title: title, x: "epoch", y: lossName, series: "train (mean over the epoch)", epoch, Double(report.result.meanLoss))
                plots.add("loss.png", title: title, x: "epoch", y: lossName, series: "test", epoch, report.testLoss)
                plots.add("loss.png", title: title, x: "epoch", y: lossName, series: "validation", epoch, report.validationLoss)
                let accuracy = "\(model): accuracy per epoch"
                plots.add("accuracy.png", title: accuracy, x: "epoch", y: "accuracy (%)", series: "train", epoch, report.trainAccuracy.map { $0 * 100 })
                plots.add("accuracy.png", title: accuracy, x: "epoch", y: "accuracy (%)", series: "test", epoch, report.testAccuracy.map { $0 * 100 })
                plots.add("accuracy.png", title: accuracy, x: "epoch", y: "accuracy (%)", series: "validation", epoch, report.validationAccuracy.map { $0 * 100 })
                plots.update(console)
            }
        })
        let final = run.trainer.evaluate(testSet)
        // With early stopping the network now holds the best epoch's weights: measure those.
        // The last epoch measured the training accuracy already, unless early stopping restored
        // other weights since, or the figure needed is a regression network's training loss.
        let lastAccuracy = config.validation == nil && !trainSet.isRegression ? reports.last?.trainAccuracy : nil
        let trainResult = lastAccuracy == nil ? run.trainer.evaluate(trainSet) : nil
        let train = lastAccuracy ?? trainResult!.accuracy
        var validationDetails: [String: Any] = [:]
        if let stopping = run.trainer.earlyStopping, let validationSet {
            let best = run.trainer.evaluate(validationSet)
            let why = stopping.shouldStop ? String(format: "stopped after epoch %d: no lower validation loss for %d epochs", run.trainer.epoch, stopping.patience)
                                          : "ran all \(config.epochs) epochs"
            let accuracy = best.accuracy.isNaN ? "" : String(format: ", accuracy %.2f%%", best.accuracy * 100)
            // A regression network's loss is in standardised units; report it as MSE in the data's.
            let loss = trainSet.isRegression ? table!.squaredErrorInDataUnits(best.loss) : best.loss
            console.line(String(format: "early stopping: %@; weights from epoch %d (validation %@ %.4g%@)",
                                why, stopping.bestEpoch, trainSet.isRegression ? "MSE" : "loss", loss, accuracy))
            validationDetails = ["best_epoch": stopping.bestEpoch, "stopped_early": stopping.shouldStop, "validation_loss": loss,
                                 "validation_accuracy": best.accuracy, "validation_samples": validationSet.count,
                                 "validation_losses": reports.compactMap { $0.validationLoss.map { trainSet.isRegression ? table!.squaredErrorInDataUnits($0) : $0 } }]
        }
        let rate = trainSeconds > 0 ? Double(samples) / trainSeconds : 0
        var regression: [String: Any] = [:]
        if trainSet.isRegression {
            let r2 = MeanSquaredError.rSquared(mse: final.loss, targets: testSet.values)
            let testMSE = table!.squaredErrorInDataUnits(final.loss), trainMSE = table!.squaredErrorInDataUnits(trainResult!.loss)
            regression = ["test_mse": testMSE, "train_mse": trainMSE, "test_r2": r2]
            console.line(String(format: "done: test MSE %.4g (R² %.4f), train MSE %.4g, %.0f samples/s over %.1f s of training",
                                testMSE, r2, trainMSE, rate, trainSeconds))
        } else {
            console.line(String(format: "done: test accuracy %.2f%%, train accuracy %.2f%%, %.0f samples/s over %.1f s of training",
                                final.accuracy * 100, train * 100, rate, trainSeconds))
        }
        if let checkpoint { console.line("checkpoint: \(checkpoint)") }
        if let output {
            let bytes = try table.map { try $0.modelFile(run.network) }
                ?? ModelWriter.encode(network: run.network, inputShape: (1, 28, 28), inputEncoding: .pixels)
            do { try AtomicFile.write(bytes, to: output) } catch { throw ValidationError("cannot write \(output): \(error)") }
            console.line("model file: \(output) (\(bytes.count) bytes)")
        }
        if let plots { try plots.write(); console.plotsWritten(plots) }
        if json {
            var result: [String: Any] = [
                "model": model, "epochs": config.epochs, "seed": config.seed, "batch": config.batchSize,
                "optimizer": config.optimizer.kind.rawValue, "learning_rate": Double(config.learningRate),
                "schedule": config.schedule.text, "threads": BLAS.threads, "blas_kernel": BLAS.coreName,
                "test_accuracy": final.accuracy, "test_loss": final.loss, "train_accuracy": train,
                "final_loss": Double(reports.last?.result.meanLoss ?? .nan),
                "train_seconds": trainSeconds, "samples_per_second": rate, "train_samples": trainSet.count,
                "test_samples": testSet.count, "parameters": spec.parameterCount, "arena_bytes": run.arena.capacity,
                "epochs_run": reports.count,
            ]
            for (key, value) in validationDetails { result[key] = value }
            for (key, value) in regression { result[key] = value }
            if trainSet.isRegression { result["test_accuracy"] = nil; result["train_accuracy"] = nil; result["validation_accuracy"] = nil }
            result["dataset"] = dataset
            result["loss"] = spec.loss.rawValue
            print(JSONText.encode(result))
        }
    }

    /// Network and training settings from the flags, or from the checkpoint being resumed
    /// (where only --epochs may change them).
    func settings(resumed: Checkpoint?, inputs: Int, outputs: Int, loss: LossKind) throws -> (NetworkSpec, TrainingConfig) {
        if let resumed {
            let fixed: [(String, Bool)] = [("--hidden", hidden != nil), ("--activation", activation != nil),
                                            ("--layers", layers != nil),
                                            ("--batch", batch != nil), ("--lr", lr != nil), ("--optimizer", optimizer != nil),
                                            ("--momentum", momentum != nil), ("--weight-decay", weightDecay != nil),
                                            ("--schedule", schedule != nil), ("--seed", seed != nil),
                                            ("--validation-fraction", validationFraction != nil), ("--patience", patience != nil)]
            if let flag = fixed.first(where: \.1) {
                throw ValidationError("\(flag.0) cannot be changed when resuming: the checkpoint fixes it (only --epochs may change)")
            }
            var config = resumed.header.training
            if let epochs { config.epochs = epochs }
            guard resumed.header.network.inputCount == inputs, resumed.header.network.loss == loss else {
                throw ValidationError("the checkpoint's network (\(resumed.header.network.inputCount) inputs, loss \(resumed.header.network.loss.rawValue)) does not fit this data (\(inputs) features, loss \(loss.rawValue))")
            }
            return (resumed.header.network, config)
        }
        let widths = try (hidden ?? "128").split(separator: ",").map { part -> Int in
            guard let w = Int(part), w > 0, w <= 1 << 16 else {
                throw ValidationError("--hidden takes positive widths separated by commas, not '\(hidden ?? "")'")
            }
            return w
        }
        guard let kind = ActivationKind(rawValue: activation ?? "relu") else {
            throw ValidationError("unknown --activation '\(activation!)'; available: relu, elu, sigmoid, tanh")
        }
        guard let optimizerKind = OptimizerConfig.Kind(rawValue: optimizer ?? "momentum") else {
            throw ValidationError("unknown --optimizer '\(optimizer!)'; available: \(OptimizerConfig.Kind.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        guard let parsedSchedule = LearningRateSchedule(parsing: schedule ?? (optimizer == nil ? "step:4" : "constant")) else {
            throw ValidationError("unreadable --schedule '\(schedule!)'; use constant, step:3,4, inverse-time:0.001 or inverse-sqrt:0.001")
        }
        var optimizerConfig = OptimizerConfig(kind: optimizerKind, weightDecay: weightDecay ?? 0)
        if let momentum { optimizerConfig.momentum = momentum }
        let defaultRate: Float = switch optimizerKind { case .sgd: 0.1; case .momentum: 0.05; case .adam, .adamw, .lamb: 0.001; case .adagrad: 0.01 }
        let config = TrainingConfig(epochs: epochs ?? 5, batchSize: batch ?? 64, learningRate: lr ?? defaultRate,
                                    schedule: parsedSchedule, optimizer: optimizerConfig, seed: seed ?? 42,
                                    validation: validationFraction.map { ValidationSplit(fraction: $0, patience: patience ?? ValidationSplit.defaultPatience) })
        if let problem = config.problem { throw ValidationError(problem) }
        switch model {
        case "lenet":
            return (NetworkSpec.lenet(), config)
        case "custom":
            let parsed: [LayerSpec]
            do { parsed = try LayerList.parse(layers ?? "") } catch { throw ValidationError("--layers: \(error)") }
            let spec = NetworkSpec(inputShape: Shape3(channels: 1, height: 28, width: 28), layers: parsed)
            if let problem = spec.problem { throw ValidationError("--layers: \(problem)") }
            guard spec.outputCount == 10 else {
                throw ValidationError("--layers: the network gives \(spec.outputCount) outputs; MNIST needs 10 (end with dense:10)")
            }
            return (spec, config)
        default:
            var spec = NetworkSpec.mlp(inputs: inputs, hidden: widths, outputs: outputs, activation: kind)
            spec.loss = loss
            return (spec, config)
        }
    }

    func loadData(_ console: Console) throws -> MNISTDataset {
        if let directory = data ?? ProcessInfo.processInfo.environment["MNIST_DIR"].flatMap({ $0.isEmpty ? nil : $0 }) {
            let source = data != nil ? "--data" : "MNIST_DIR"
            let loaded = Result { () throws(IDXError) in try MNISTDataset(directory: directory) }
            switch loaded {
            case .success(let set):
                console.line("data: MNIST from \(directory) (\(source)): \(set.train.count) training, \(set.test.count) test images")
                return set
            case .failure(let error):
                var message = "\(error)"
                if case .missingFiles = error {
                    message += "\nPass --data DIR or set MNIST_DIR to a directory holding the four MNIST files."
                }
                throw ValidationError(message)
            }
        }
        guard let sample = Bundle.module.url(forResource: "mnist-sample", withExtension: nil) else {
            throw ValidationError("no data: pass --data DIR or set MNIST_DIR (the bundled sample is missing from this build)")
        }
        let set = try MNISTDataset(directory: sample.path)
        console.line("data: no --data or MNIST_DIR given, so using the bundled sample of \(set.train.count) training and \(set.test.count) test digits. For real results pass --data DIR or set MNIST_DIR.")
        return set
    }
}

/// A comma-separated list of option values ("1,3,5"), for grid searches; one value is a list of one.
struct ValueList<Value: LosslessStringConvertible>: ExpressibleByArgument {
    var values: [Value]
    /// The values as the user wrote them (for reports).
    var texts: [String]
    init(_ values: [Value], texts: [String]? = nil) { self.values = values; self.texts = texts ?? values.map { "\($0)" } }
    init?(argument: String) {
        let parts = argument.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        let parsed = parts.compactMap { Value($0) }
        guard !parts.isEmpty, parsed.count == parts.count else { return nil }
        values = parsed
        texts = parts
    }
}
