import ArgumentParser
import Foundation
import Generative
import Graph
import InferTools
import LowLevel
import MNIST
import ModelFile
import Training

/// `train --model gan`: a GAN on MNIST's training digits (`GANTrainer`): MLP generator and
/// discriminator, Adam (lr 2e-4, β1 0.5), the objective from `--objective` (js by default).
/// Reports both losses per epoch; a NaN loss stops training with a message.
struct GANCommand {
    let options: Train
    let console: Console

    static func validate(_ o: Train) throws {
        let other: [(String, Bool)] = [("--activation", o.activation != nil), ("--optimizer", o.optimizer != nil),
                                       ("--momentum", o.momentum != nil), ("--text", o.text != nil),
                                       ("--context", o.context != nil), ("--iters", o.iters != nil), ("--tokens", o.tokens != nil),
                                       ("--heads", o.heads != nil), ("--width", o.width != nil), ("--patch", o.patch != nil),
                                       ("--layers", o.layers != nil), ("--warmup", o.warmup != nil),
                                       ("--weight-decay", o.weightDecay != nil),
                                       ("--validation-fraction", o.validationFraction != nil), ("--dataset", o.dataset != "mnist")]
        if let flag = other.first(where: \.1) { throw ValidationError("\(flag.0) is not an option of --model gan") }
        for (name, value) in [("--epochs", o.epochs.map { $0 + 1 }), ("--batch", o.batch.map { $0 - 1 }), ("--train-limit", o.trainLimit)] {
            if let value, value <= 0 { throw ValidationError("\(name) is out of range (epochs ≥ 0, batch ≥ 2, train limit ≥ 1)") }
        }
        if let objective = o.objective, GANObjective(rawValue: objective) == nil {
            throw ValidationError("--objective for --model gan is one of \(GANObjective.allCases.map(\.rawValue).joined(separator: ", ")), not '\(objective)'")
        }
        if let lr = o.lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be a positive number, not \(lr)") }
        if let schedule = o.schedule, !["constant", "linear"].contains(schedule) {
            throw ValidationError("--schedule for --model gan is constant or linear, not '\(schedule)'")
        }
        _ = try config(o, height: 28, width: 28)
        if o.resume != nil {
            let settings: [(String, Bool)] = [("--objective", o.objective != nil), ("--batch", o.batch != nil), ("--lr", o.lr != nil),
                                              ("--seed", o.seed != nil), ("--schedule", o.schedule != nil), ("--latent", o.latent != nil),
                                              ("--hidden", o.hidden != nil), ("--discriminator-hidden", o.discriminatorHidden != nil),
                                              ("--dropout", o.dropout != nil), ("--batch-norm", o.batchNorm != nil), ("--ema", o.ema != nil)]
            if let flag = settings.first(where: \.1) {
                throw ValidationError("a resumed GAN keeps its checkpoint's settings: drop \(flag.0) (--epochs, if given, must be the checkpoint's)")
            }
        }
    }

    /// The configuration the options ask for (the defaults where they are silent), checked.
    static func config(_ o: Train, height: Int, width: Int) throws -> GANConfig {
        var config = GANConfig()
        (config.height, config.width) = (height, width)
        if let objective = o.objective { config.objective = GANObjective(rawValue: objective)! }
        if let e = o.epochs { config.epochs = e }
        if let b = o.batch { config.batch = b }
        if let lr = o.lr { config.learningRate = lr }
        if let s = o.seed { config.seed = s }
        if let schedule = o.schedule { config.learningRateDecay = schedule == "linear" }
        if let n = o.latent { config.latent = n }
        for (flag, text, keyPath) in [("--hidden", o.hidden, \GANConfig.generatorHidden), ("--discriminator-hidden", o.discriminatorHidden, \.discriminatorHidden)] {
            guard let text else { continue }
            let widths = text.split(separator: ",", omittingEmptySubsequences: false).map { Int($0.trimmingCharacters(in: .whitespaces)) }
            guard !widths.isEmpty, widths.allSatisfy({ $0 != nil }) else {
                throw ValidationError("\(flag) takes comma-separated widths such as 256,512, not '\(text)'")
            }
            config[keyPath: keyPath] = widths.map { $0! }
        }
        if let p = o.dropout { config.discriminatorDropout = p }
        if let b = o.batchNorm { config.generatorBatchNorm = b }
        if let beta = o.ema { config.generatorAverage = beta }
        if let problem = config.problem { throw ValidationError("--model gan: \(problem)") }
        return config
    }

    func run() throws {
        let data = try options.loadData(console)
        let train = options.trainLimit.map { data.train.prefix($0) } ?? data.train
        let resumed: GANCheckpoint?
        do { resumed = try options.resume.map { try GANCheckpoint.read(path: $0) } } catch { throw ValidationError("\(error)") }
        var config = try Self.config(options, height: train.rows, width: train.columns)
        if let resumed {
            guard options.epochs == nil || options.epochs == resumed.header.gan.epochs else {
                throw ValidationError("\(options.resume!) trains for \(resumed.header.gan.epochs) epochs; a resumed run keeps them (its learning-rate schedule depends on them)")
            }
            config = resumed.header.gan
        }
        let trainer: GANTrainer
        do { trainer = try GANTrainer(config: config, trainingCount: train.count) } catch { throw ValidationError("\(error)") }
        if let resumed {
            do { try resumed.restore(into: trainer) } catch { throw ValidationError("\(options.resume!): \(error)") }
            console.line("resuming from \(options.resume!) after epoch \(trainer.epochs) of \(config.epochs)")
        }
        func parameters(_ g: Graph?) -> Int { g.map { g in g.parameters.reduce(0) { $0 + g.type(of: $1).elementsPerSample } } ?? 0 }
        let widths = ([config.latent] + config.generatorHidden + [config.pixels]).map(String.init).joined(separator: "-")
        let critic = ([config.pixels] + config.discriminatorHidden + [1]).map(String.init).joined(separator: "-")
        console.line("model: gan (\(config.objective.rawValue)), generator \(widths) (\(parameters(trainer.generatorGraph.graph)) parameters)"
                     + (trainer.discriminatorGraph.map { "; discriminator \(critic) (\(parameters($0.graph)) parameters)" } ?? "; no discriminator (MMD)")
                     + "; arena \(trainer.arena.capacity) bytes")
        console.line("training: \(config.epochs) epochs of \(train.count) digits in batches of \(config.batch), Adam lr \(config.learningRate) "
                     + "β1 \(config.beta1)" + (config.objective == .wasserstein ? ", \(config.criticSteps) critic updates per generator update, weights clipped to ±\(config.weightClip)" : "")
                     + (config.learningRateDecay ? ", decaying linearly to 0" : "")
                     + (config.generatorBatchNorm ? "; batch norm in the generator" : "")
                     + (config.discriminatorDropout > 0 ? "; dropout \(config.discriminatorDropout) in the discriminator" : "")
                     + (config.generatorAverage > 0 ? "; exports the generator's moving average (decay \(config.generatorAverage))" : "")
                     + ", seed \(config.seed)")
        // MMD has no discriminator: its generator loss is the batch MMD².
        func lossText(_ d: Float, _ g: Float) -> String {
            config.objective == .mmd ? String(format: "MMD² %.4f", g) : String(format: "discriminator loss %.4f, generator loss %.4f", d, g)
        }
        var epochs: [[String: Any]] = [], seconds = 0.0
        let plots = try options.plot.map(TrainingPlots.init)
        try train.pixels.withUnsafeBufferPointer { pixels in
            for epoch in (trainer.epochs + 1)...max(config.epochs, trainer.epochs + 1) where epoch <= config.epochs {
                let start = MonotonicClock.now()
                var lastReport = start
                let losses: (discriminator: Float, generator: Float)
                do {
                    losses = try trainer.trainEpoch(pixels: pixels) { done, of, d, g in
                        guard MonotonicClock.seconds(since: lastReport) > 10 else { return }
                        lastReport = MonotonicClock.now()
                        let elapsed = MonotonicClock.seconds(since: start)
                        console.line("  epoch \(epoch): batch \(done)/\(of), \(lossText(d, g)), "
                                     + String(format: "%.0f s left in the epoch", elapsed / Double(done) * Double(of - done)))
                    }
                } catch { throw ValidationError("\(error) (a GAN that diverges needs a smaller --lr or another --objective)") }
                let took = MonotonicClock.seconds(since: start)
                seconds += took
                epochs.append(["epoch": epoch, "discriminator_loss": Double(losses.discriminator), "generator_loss": Double(losses.generator), "seconds": took])
                let done = epoch - (resumed?.header.epoch ?? 0)
                console.line("epoch \(epoch)/\(config.epochs): \(lossText(losses.discriminator, losses.generator)), "
                             + String(format: "%.1f s, %.0f s left", took, seconds / Double(done) * Double(config.epochs - epoch)))
                if let plots {
                    let title = "gan (\(config.objective.rawValue)): losses per epoch (means over the epoch)"
                    if config.objective != .mmd {
                        plots.add("loss.png", title: title, x: "epoch", y: "loss", series: "discriminator", Double(epoch), Double(losses.discriminator))
                    }
                    plots.add("loss.png", title: title, x: "epoch", y: config.objective == .mmd ? "MMD²" : "loss",
                              series: config.objective == .mmd ? "generator (MMD²)" : "generator", Double(epoch), Double(losses.generator))
                    plots.update(console)
                }
                if let path = options.checkpoint {
                    do { try GANCheckpoint(trainer: trainer).write(to: path) } catch { throw ValidationError("cannot write the checkpoint \(path): \(error)") }
                }
            }
        }
        console.line(String(format: "%.1f s of training", seconds))
        defer { console.plotsWritten(plots) }
        try plots?.write()
        if let output = options.output {
            try console.writeModel(to: output, what: "the generator; infer_sample and `sample` draw digits from it") {
                try ModelWriter.encode(gan: trainer)
            }
        }
        if options.json {
            let object: [String: Any] = [
                "model": "gan", "objective": config.objective.rawValue, "epochs": config.epochs, "history": epochs,
                "discriminator_loss": config.objective == .mmd ? NSNull() : epochs.last?["discriminator_loss"] ?? NSNull(), "generator_loss": epochs.last?["generator_loss"] ?? NSNull(),
                "train_seconds": seconds, "batch": config.batch, "learning_rate": Double(config.learningRate), "latent": config.latent,
                "generator_hidden": config.generatorHidden, "discriminator_hidden": config.discriminatorHidden,
                "batch_norm": config.generatorBatchNorm, "dropout": Double(config.discriminatorDropout), "ema": Double(config.generatorAverage),
                "schedule": config.learningRateDecay ? "linear" : "constant",
                "generator_parameters": parameters(trainer.generatorGraph.graph), "arena_bytes": trainer.arena.capacity, "seed": config.seed,
            ]
            print(JSONText.encode(object))
        }
    }
}
