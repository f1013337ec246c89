import ArgumentParser
import Foundation
import Generative
import Graph
import InferTools
import LowLevel
import MNIST
import ModelFile
import Training

/// `train --model flow`: a RealNVP flow on MNIST's training digits (`FlowTrainer`), trained by
/// maximum likelihood with Adam; reports the training bits per dimension per epoch and the test
/// set's at the end (`--test-limit` digits, all by default). A NaN loss stops training with a message.
struct FlowCommand {
    let options: Train
    let console: Console

    static func validate(_ o: Train) throws {
        let other: [(String, Bool)] = [("--activation", o.activation != nil), ("--optimizer", o.optimizer != nil),
                                       ("--momentum", o.momentum != nil), ("--text", o.text != nil), ("--objective", o.objective != nil),
                                       ("--context", o.context != nil), ("--iters", o.iters != nil), ("--tokens", o.tokens != nil),
                                       ("--heads", o.heads != nil), ("--width", o.width != nil), ("--patch", o.patch != nil),
                                       ("--layers", o.layers != nil), ("--warmup", o.warmup != nil), ("--hidden", o.hidden != nil),
                                       ("--weight-decay", o.weightDecay != nil), ("--dropout", o.dropout != nil), ("--schedule", o.schedule != nil),
                                       ("--validation-fraction", o.validationFraction != nil), ("--dataset", o.dataset != "mnist")]
        if let flag = other.first(where: \.1) { throw ValidationError("\(flag.0) is not an option of --model flow") }
        for (name, value) in [("--epochs", o.epochs.map { $0 + 1 }), ("--batch", o.batch), ("--train-limit", o.trainLimit),
                              ("--test-limit", o.testLimit.map { $0 + 1 })] {
            if let value, value <= 0 { throw ValidationError("\(name) is out of range (epochs ≥ 0, batch ≥ 1, train limit ≥ 1, test limit ≥ 0)") }
        }
        _ = try config(o, height: 28, width: 28)
    }

    /// The configuration the options ask for (the defaults where they are silent), checked.
    static func config(_ o: Train, height: Int, width: Int) throws -> FlowConfig {
        var config = FlowConfig()
        (config.height, config.width) = (height, width)
        if let e = o.epochs { config.epochs = e }
        if let b = o.batch { config.batch = b }
        if let lr = o.lr { config.learningRate = lr }
        if let s = o.seed { config.seed = s }
        if let n = o.couplings { config.couplings = n }
        if let n = o.filters { config.hidden = n }
        if let n = o.depth { config.depth = n }
        if let k = o.innerKernel { config.innerKernel = k }
        if let a = o.logitMargin { config.alpha = a }
        if let problem = config.problem { throw ValidationError("--model flow: \(problem)") }
        return config
    }

    func run() throws {
        let data = try options.loadData(console)
        let train = options.trainLimit.map { data.train.prefix($0) } ?? data.train
        let test = options.testLimit.map { data.test.prefix($0) } ?? data.test
        let resumed: FlowCheckpoint?
        do { resumed = try options.resume.map { try FlowCheckpoint.read(path: $0) } } catch { throw ValidationError("\(error)") }
        var config = try Self.config(options, height: train.rows, width: train.columns)
        if let resumed {
            let stored = resumed.header.config, epochs = config.epochs
            let given: [(String, Bool)] = [("--batch", options.batch.map { $0 != stored.batch }), ("--lr", options.lr.map { $0 != stored.learningRate }),
                                           ("--seed", options.seed.map { $0 != stored.seed }), ("--couplings", options.couplings.map { $0 != stored.couplings }),
                                           ("--filters", options.filters.map { $0 != stored.hidden }), ("--depth", options.depth.map { $0 != stored.depth }),
                                           ("--inner-kernel", options.innerKernel.map { $0 != stored.innerKernel }),
                                           ("--logit-margin", options.logitMargin.map { $0 != stored.alpha })].map { ($0.0, $0.1 ?? false) }
            if let flag = given.first(where: \.1) {
                throw ValidationError("a resumed flow keeps its checkpoint's settings: \(flag.0) differs from \(options.resume!)'s (only --epochs may change)")
            }
            config = stored
            // A flow's learning rate is constant, so a resumed run may train for more (or fewer) epochs.
            if options.epochs != nil { config.epochs = epochs }
        }
        let trainer: FlowTrainer
        do { trainer = try FlowTrainer(config: config, trainingCount: train.count) } catch { throw ValidationError("\(error)") }
        if let resumed {
            var stored = resumed
            stored.header.config.epochs = config.epochs
            do { try stored.restore(into: trainer) } catch { throw ValidationError("\(options.resume!): \(error)") }
            console.line("resuming from \(options.resume!) after epoch \(trainer.epochs) of \(config.epochs)")
        }
        let graph = trainer.density.graph
        let parameters = graph.parameters.reduce(0) { $0 + graph.type(of: $1).elementsPerSample }
        console.line("model: flow (RealNVP), logit α \(config.alpha), \(config.couplings) checkerboard affine couplings, each a network of "
                     + "\(config.depth) convolutions (3×3\(config.depth > 1 ? ", then \(config.innerKernel)×\(config.innerKernel)" : "")) of \(config.hidden) filters (\(parameters) parameters); arena \(trainer.arena.capacity) bytes")
        console.line("training: \(config.epochs) epochs of \(train.count) digits in batches of \(config.batch), Adam lr \(config.learningRate), seed \(config.seed)")
        let pixels = config.pixels
        func bits(_ nll: Double) -> Double { FlowTrainer.bitsPerDimension(nll: nll, pixels: pixels) }
        var epochs: [[String: Any]] = [], seconds = 0.0
        let plots = try options.plot.map(TrainingPlots.init)
        let title = "flow: negative log-likelihood per epoch"
        try train.pixels.withUnsafeBufferPointer { images in
            if trainer.epochs == 0 { trainer.initialiseAffine(pixels: images) }
            for epoch in (trainer.epochs + 1)...max(config.epochs, trainer.epochs + 1) where epoch <= config.epochs {
                let start = MonotonicClock.now()
                var lastReport = start
                let loss: Float
                do {
                    loss = try trainer.trainEpoch(pixels: images) { done, of, running in
                        guard MonotonicClock.seconds(since: lastReport) > 10 else { return }
                        lastReport = MonotonicClock.now()
                        let elapsed = MonotonicClock.seconds(since: start)
                        console.line("  epoch \(epoch): batch \(done)/\(of), " + String(format: "%.4f bits/dim, %.0f s left in the epoch", bits(Double(running)),
                                                                                           elapsed / Double(done) * Double(of - done)))
                    }
                } catch { throw ValidationError("\(error) (a flow that diverges needs a smaller --lr)") }
                let took = MonotonicClock.seconds(since: start)
                seconds += took
                epochs.append(["epoch": epoch, "train_bits_per_dim": bits(Double(loss)), "seconds": took])
                let done = epoch - (resumed?.header.epoch ?? 0)
                console.line("epoch \(epoch)/\(config.epochs): " + String(format: "train %.4f bits/dim, %.1f s, %.0f s left", bits(Double(loss)), took,
                                                                          seconds / Double(done) * Double(config.epochs - epoch)))
                if let plots {
                    plots.add("loss.png", title: title, x: "epoch", y: "bits per dimension", series: "train (mean over the epoch)", Double(epoch), bits(Double(loss)))
                    plots.update(console)
                }
                if let path = options.checkpoint {
                    do { try FlowCheckpoint(trainer: trainer).write(to: path) } catch { throw ValidationError("cannot write the checkpoint \(path): \(error)") }
                }
            }
        }
        console.line(String(format: "%.1f s of training", seconds))
        let testNLL = test.pixels.withUnsafeBufferPointer { trainer.evaluate(pixels: $0, count: test.count) }
        console.line(String(format: "test: %.4f bits/dim over %d digits (dequantised once, fixed noise)", bits(testNLL), test.count))
        if let plots {
            plots.add("loss.png", title: title, x: "epoch", y: "bits per dimension", series: "test (after the last epoch)", Double(trainer.epochs), bits(testNLL))
            try plots.write()
        }
        defer { console.plotsWritten(plots) }
        if let output = options.output {
            try console.writeModel(to: output, what: "the flow; infer_sample and `sample` draw digits from it, infer_log_density gives log p(x)") {
                try ModelWriter.encode(flow: config, weights: trainer.weights)
            }
        }
        if options.json {
            let object: [String: Any] = [
                "model": "flow", "epochs": config.epochs, "history": epochs, "train_bits_per_dim": epochs.last?["train_bits_per_dim"] ?? NSNull(),
                "test_bits_per_dim": bits(testNLL), "test_nll_nats": testNLL, "train_seconds": seconds, "batch": config.batch,
                "learning_rate": Double(config.learningRate), "couplings": config.couplings, "filters": config.hidden, "depth": config.depth, "inner_kernel": config.innerKernel,
                "parameters": parameters, "arena_bytes": trainer.arena.capacity, "seed": config.seed,
            ]
            print(JSONText.encode(object))
        }
    }
}
