import ArgumentParser
import Foundation
import Generative
import Graph
import InferTools
import LowLevel
import MNIST
import Training

/// `train --model diffusion`: a DDPM's noise-prediction U-Net on MNIST's training digits
/// (`DiffusionTrainer`), the ε-loss per epoch. The model file and the samplers from C are not
/// built yet (issue 13), so `--output` is refused with a message.
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
                                       ("--validation-fraction", o.validationFraction != nil), ("--dataset", o.dataset != "mnist"),
                                       ("--checkpoint", o.checkpoint != nil), ("--resume", o.resume != nil)]
        if let flag = other.first(where: \.1) { throw ValidationError("\(flag.0) is not an option of --model diffusion") }
        if o.output != nil {
            throw ValidationError("--model diffusion does not write model files yet (issue 13: the runtime's sampler is not built); drop --output")
        }
        for (name, value) in [("--epochs", o.epochs.map { $0 + 1 }), ("--batch", o.batch), ("--train-limit", o.trainLimit)] {
            if let value, value <= 0 { throw ValidationError("\(name) is out of range (epochs ≥ 0, batch ≥ 1, train limit ≥ 1)") }
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
        if let text = o.schedule {
            guard let kind = DiffusionSchedule.Kind(rawValue: text) else {
                throw ValidationError("--schedule for --model diffusion is linear or cosine (the β schedule), not '\(text)'")
            }
            config.schedule = kind
        }
        if let problem = config.problem { throw ValidationError("--model diffusion: \(problem)") }
        return config
    }

    func run() throws {
        let data = try options.loadData(console)
        let train = options.trainLimit.map { data.train.prefix($0) } ?? data.train
        let config = try Self.config(options, height: train.rows, width: train.columns)
        let trainer: DiffusionTrainer
        do { trainer = try DiffusionTrainer(config: config, trainingCount: train.count) } catch { throw ValidationError("\(error)") }
        let graph = trainer.network.graph
        let parameters = graph.parameters.reduce(0) { $0 + graph.type(of: $1).elementsPerSample }
        console.line("model: diffusion (DDPM, \(config.steps) steps, \(config.schedule.rawValue) schedule), U-Net of \(config.channels)/\(2 * config.channels)/\(2 * config.channels) channels "
                     + "(\(parameters) parameters); arena \(trainer.arena.capacity) bytes")
        console.line("training: \(config.epochs) epochs of \(train.count) digits in batches of \(config.batch), Adam lr \(config.learningRate), seed \(config.seed)")
        var epochs: [[String: Any]] = [], seconds = 0.0
        try train.pixels.withUnsafeBufferPointer { images in
            for epoch in 1...max(config.epochs, 1) where epoch <= config.epochs {
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
                console.line("epoch \(epoch)/\(config.epochs): " + String(format: "ε-loss %.4f, %.1f s, %.0f s left", loss, took,
                                                                          seconds / Double(epoch) * Double(config.epochs - epoch)))
            }
        }
        console.line(String(format: "%.1f s of training", seconds))
        if options.json {
            let object: [String: Any] = [
                "model": "diffusion", "epochs": config.epochs, "history": epochs, "loss": epochs.last?["loss"] ?? NSNull(),
                "train_seconds": seconds, "batch": config.batch, "learning_rate": Double(config.learningRate), "steps": config.steps,
                "schedule": config.schedule.rawValue, "channels": config.channels, "parameters": parameters,
                "arena_bytes": trainer.arena.capacity, "seed": config.seed,
            ]
            print(JSONText.encode(object))
        }
    }
}
