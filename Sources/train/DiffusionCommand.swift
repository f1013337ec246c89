import ArgumentParser
import Foundation
import Generative
import Graph
import InferTools
import LowLevel
import MNIST
import ModelFile
import Training

/// `train --model diffusion`: a DDPM's noise-prediction U-Net on MNIST's training digits
/// (`DiffusionTrainer`), the ε-loss per epoch, checkpoints, and the model file `infer_sample`
/// and `sample` draw digits from with the stored sampler.
struct DiffusionCommand {
    let options: Train
    let console: Console

    static func validate(_ o: Train) throws {
        let other: [(String, Bool)] = [("--activation", o.activation != nil), ("--optimizer", o.optimizer != nil),
                                       ("--momentum", o.momentum != nil), ("--text", o.text != nil), ("--objective", o.objective != nil),
                                       ("--context", o.context != nil), ("--iters", o.iters != nil), ("--tokens", o.tokens != nil),
                                       ("--heads", o.heads != nil), ("--width", o.width != nil), ("--patch", o.patch != nil),
                                       ("--layers", o.layers != nil), ("--warmup", o.warmup != nil), ("--hidden", o.hidden != nil),
                                       ("--weight-decay", o.weightDecay != nil), ("--dropout", o.dropout != nil),
                                       ("--validation-fraction", o.validationFraction != nil), ("--dataset", o.dataset != "mnist")]
        if let flag = other.first(where: \.1) { throw ValidationError("\(flag.0) is not an option of --model diffusion") }
        for (name, value) in [("--epochs", o.epochs.map { $0 + 1 }), ("--batch", o.batch), ("--train-limit", o.trainLimit),
                              ("--sample-steps", o.sampleSteps)] {
            if let value, value <= 0 { throw ValidationError("\(name) is out of range (epochs ≥ 0, batch ≥ 1, train limit ≥ 1, sample steps ≥ 1)") }
        }
        if o.sampler == "ancestral" && o.sampleSteps != nil {
            throw ValidationError("--sample-steps is for the ODE sampler; ancestral sampling takes all --diffusion-steps")
        }
        _ = try config(o, height: 28, width: 28)
    }

    /// The configuration the options ask for (the defaults where they are silent), checked.
    static func config(_ o: Train, height: Int, width: Int) throws -> DiffusionConfig {
        var config = DiffusionConfig()
        (config.height, config.width) = (height, width)
        if let e = o.epochs { config.epochs = e }
        if let b = o.batch { config.batch = b }
        if let lr = o.lr { config.learningRate = lr }
        if let s = o.seed { config.seed = s }
        if let n = o.filters { config.channels = n }
        if let t = o.diffusionSteps { config.steps = t }
        if let beta = o.ema { config.average = beta }
        if let text = o.schedule {
            guard let kind = DiffusionSchedule.Kind(rawValue: text) else {
                throw ValidationError("--schedule for --model diffusion is linear or cosine (the β schedule), not '\(text)'")
            }
            config.schedule = kind
        }
        if let text = o.sampler {
            guard let kind = DiffusionConfig.SamplerKind(rawValue: text) else {
                throw ValidationError("--sampler is ode or ancestral, not '\(text)'")
            }
            config.sampler = kind
        }
        if let k = o.sampleSteps {
            config.sampleSteps = k
            try checkSampleSteps(k, steps: config.steps)
        }
        if let problem = config.problem { throw ValidationError("--model diffusion: \(problem)") }
        return config
    }

    /// An explicit --sample-steps must fit the diffusion (the default, 100, is cut to the steps).
    static func checkSampleSteps(_ k: Int, steps: Int) throws {
        if k > steps { throw ValidationError("--sample-steps \(k) is more than the diffusion's \(steps) steps") }
    }

    func run() throws {
        let data = try options.loadData(console)
        let train = options.trainLimit.map { data.train.prefix($0) } ?? data.train
        var config = try Self.config(options, height: train.rows, width: train.columns)
        let resumed: DiffusionCheckpoint?
        do { resumed = try options.resume.map { try DiffusionCheckpoint.read(path: $0) } } catch { throw ValidationError("\(error)") }
        if let resumed {
            // What training depends on comes from the checkpoint; the epochs and the sampler the file stores may change.
            var stored = resumed.header.config
            let given: [(String, Bool)] = [("--batch", options.batch.map { $0 != stored.batch }), ("--lr", options.lr.map { $0 != stored.learningRate }),
                                           ("--seed", options.seed.map { $0 != stored.seed }), ("--filters", options.filters.map { $0 != stored.channels }),
                                           ("--diffusion-steps", options.diffusionSteps.map { $0 != stored.steps }),
                                           ("--schedule", options.schedule.map { $0 != stored.schedule.rawValue }),
                                           ("--ema", options.ema.map { $0 != stored.average })].map { ($0.0, $0.1 ?? false) }
            if let flag = given.first(where: \.1) {
                throw ValidationError("a resumed diffusion keeps its checkpoint's settings: \(flag.0) differs from \(options.resume!)'s (only --epochs, --sampler and --sample-steps may change)")
            }
            if options.epochs != nil { stored.epochs = config.epochs }
            if options.sampler != nil { stored.sampler = config.sampler }
            if let k = options.sampleSteps {
                try Self.checkSampleSteps(k, steps: stored.steps)
                stored.sampleSteps = k
            }
            config = stored
        }
        let trainer: DiffusionTrainer
        do { trainer = try DiffusionTrainer(config: config, trainingCount: train.count) } catch { throw ValidationError("\(error)") }
        if let resumed {
            var stored = resumed
            stored.header.config = config
            do { try stored.restore(into: trainer) } catch { throw ValidationError("\(options.resume!): \(error)") }
            console.line("resuming from \(options.resume!) after epoch \(trainer.epochs) of \(config.epochs)")
        }
        let graph = trainer.network.graph
        let parameters = graph.parameters.reduce(0) { $0 + graph.type(of: $1).elementsPerSample }
        console.line("model: diffusion (DDPM, \(config.steps) steps, \(config.schedule.rawValue) schedule), U-Net of \(config.channels)/\(2 * config.channels)/\(4 * config.channels) channels "
                     + "(\(parameters) parameters); arena \(trainer.arena.capacity) bytes")
        console.line("training: \(config.epochs) epochs of \(train.count) digits in batches of \(config.batch), Adam lr \(config.learningRate), seed \(config.seed)"
                     + (config.average > 0 ? ", the file gets the weights' moving average (decay \(config.average))" : ""))
        var epochs: [[String: Any]] = [], seconds = 0.0
        let plots = try options.plot.map(TrainingPlots.init)
        try train.pixels.withUnsafeBufferPointer { images in
            for epoch in (trainer.epochs + 1)...max(config.epochs, trainer.epochs + 1) where epoch <= config.epochs {
                let start = MonotonicClock.now()
                var lastReport = start
                let loss: Float
                do {
                    loss = try trainer.trainEpoch(pixels: images) { done, of, running in
                        guard MonotonicClock.seconds(since: lastReport) > 10 else { return }
                        lastReport = MonotonicClock.now()
                        let elapsed = MonotonicClock.seconds(since: start)
                        console.line("  epoch \(epoch): batch \(done)/\(of), " + String(format: "ε-loss %.4f, %.0f s left in the epoch", running,
                                                                                           elapsed / Double(done) * Double(of - done)))
                    }
                } catch { throw ValidationError("\(error) (a diffusion model that diverges needs a smaller --lr)") }
                let took = MonotonicClock.seconds(since: start)
                seconds += took
                epochs.append(["epoch": epoch, "loss": Double(loss), "seconds": took])
                let done = epoch - (resumed?.header.epoch ?? 0)
                console.line("epoch \(epoch)/\(config.epochs): " + String(format: "ε-loss %.4f, %.1f s, %.0f s left", loss, took,
                                                                          seconds / Double(done) * Double(config.epochs - epoch)))
                if let plots {
                    plots.add("loss.png", title: "diffusion: ε-prediction loss per epoch", x: "epoch", y: "mean squared error of ε̂",
                              series: "train (mean over the epoch)", Double(epoch), Double(loss))
                    plots.update(console)
                }
                if let path = options.checkpoint {
                    do { try DiffusionCheckpoint(trainer: trainer).write(to: path) } catch { throw ValidationError("cannot write the checkpoint \(path): \(error)") }
                }
            }
        }
        console.line(String(format: "%.1f s of training", seconds))
        defer { console.plotsWritten(plots) }
        try plots?.write()
        if let output = options.output {
            let sampler = config.sampler == .ode ? "the ODE sampler, \(min(config.sampleSteps, config.steps)) steps" : "ancestral sampling, \(config.steps) steps"
            try console.writeModel(to: output, what: "the diffusion model; infer_sample and `sample` draw digits from it by \(sampler)") {
                try ModelWriter.encode(diffusion: config, weights: trainer.weights)
            }
        }
        if options.json {
            let object: [String: Any] = [
                "model": "diffusion", "epochs": config.epochs, "history": epochs, "loss": epochs.last?["loss"] ?? NSNull(),
                "train_seconds": seconds, "batch": config.batch, "learning_rate": Double(config.learningRate), "steps": config.steps,
                "schedule": config.schedule.rawValue, "channels": config.channels,
                "sampler": config.sampler.rawValue, "ema": Double(config.average), "sample_steps": config.sampler == .ode ? min(config.sampleSteps, config.steps) : config.steps, "parameters": parameters,
                "arena_bytes": trainer.arena.capacity, "seed": config.seed,
            ]
            print(JSONText.encode(object))
        }
    }
}
