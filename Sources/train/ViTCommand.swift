import ArgumentParser
import Foundation
import InferTools
import LowLevel
import MNIST
import ModelFile
import Training

/// `train --model vit`: a vision transformer on MNIST (`ViTGraph`): 7×7 patches (16 per digit),
/// 4 blocks of width 64 with 4 heads, mean pooling, AdamW at lr 1e-3 with warm-up and cosine
/// decay for 5 epochs at batch 64 (98.1% on MNIST's test digits). Reports the training loss and
/// accuracy per epoch and the test accuracy.
struct ViTCommand {
    let options: Train
    let console: Console

    static func validate(_ o: Train) throws {
        let other: [(String, Bool)] = [("--hidden", o.hidden != nil), ("--activation", o.activation != nil), ("--optimizer", o.optimizer != nil),
                                       ("--schedule", o.schedule != nil), ("--momentum", o.momentum != nil), ("--text", o.text != nil),
                                       ("--context", o.context != nil), ("--iters", o.iters != nil), ("--tokens", o.tokens != nil),
                                       ("--validation-fraction", o.validationFraction != nil), ("--dataset", o.dataset != "mnist"),
                                       ("--checkpoint", o.checkpoint != nil), ("--resume", o.resume != nil)]
        if let flag = other.first(where: \.1) { throw ValidationError("\(flag.0) is not an option of --model vit") }
        if let layers = o.layers, Int(layers) == nil { throw ValidationError("--layers for --model vit is a number of blocks, not '\(layers)'") }
        for (name, value) in [("--layers", o.layers.flatMap { Int($0) }), ("--heads", o.heads), ("--width", o.width), ("--patch", o.patch),
                              ("--epochs", o.epochs), ("--batch", o.batch), ("--train-limit", o.trainLimit)] {
            if let value, value <= 0 { throw ValidationError("\(name) must be positive, not \(value)") }
        }
        if let warmup = o.warmup, warmup < 0 { throw ValidationError("--warmup must be 0 or more, not \(warmup)") }
        if let d = o.dropout, !(d >= 0 && d < 1) { throw ValidationError("--dropout must be in [0, 1), not \(d)") }
        if let lr = o.lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be a positive number, not \(lr)") }
        if let wd = o.weightDecay, !(wd >= 0 && wd.isFinite) { throw ValidationError("--weight-decay must be 0 or more, not \(wd)") }
    }

    func run() throws {
        let data = try options.loadData(console)
        let train = options.trainLimit.map { data.train.prefix($0) } ?? data.train, test = data.test
        var shape = ViTConfig()
        (shape.height, shape.width) = (train.rows, train.columns)
        if let p = options.patch { shape.patch = p }
        if let w = options.width { shape.features = w }
        if let l = options.layers.flatMap({ Int($0) }) { shape.layers = l }
        if let h = options.heads { shape.heads = h }
        if let d = options.dropout { shape.dropout = d }
        if let problem = shape.problem { throw ValidationError(problem) }
        var config = ViTTrainingConfig()
        if let e = options.epochs { config.epochs = e }
        if let b = options.batch { config.batch = b }
        if let lr = options.lr { config.learningRate = lr }
        if let w = options.warmup { config.warmup = w }
        if let wd = options.weightDecay { config.weightDecay = wd }
        if let s = options.seed { config.seed = s }
        let vit = try ViTGraph(shape)
        let trainer = try ViTTrainer(vit: vit, config: config, trainingCount: train.count)
        let parameters = vit.graph.parameters.reduce(0) { $0 + vit.graph.type(of: $1).elementsPerSample }
        console.line("model: vit, \(shape.patch)×\(shape.patch) patches (\(shape.positions) per image), \(shape.layers) blocks, \(shape.heads) heads, width \(shape.features), "
                     + "\(parameters) parameters; arena \(trainer.arena.capacity) bytes")
        console.line("training: \(config.epochs) epochs of \(train.count) digits in batches of \(config.batch), AdamW lr \(config.learningRate) "
                     + "(warm-up \(config.warmup) updates, cosine to \(config.minimumLearningRate)), weight decay \(config.weightDecay), seed \(config.seed)")
        var epochs: [[String: Any]] = [], seconds = 0.0
        let plots = try options.plot.map(TrainingPlots.init)
        try train.pixels.withUnsafeBufferPointer { pixels in
            try train.labels.withUnsafeBufferPointer { labels in
                for epoch in 1...max(config.epochs, 1) where config.epochs > 0 {
                    let start = MonotonicClock.now()
                    var lastReport = start
                    let result: (loss: Float, accuracy: Float)
                    do {
                        result = try trainer.trainEpoch(pixels: pixels, labels: labels) { done, of, loss in
                            guard MonotonicClock.seconds(since: lastReport) > 10 else { return }
                            lastReport = MonotonicClock.now()
                            let elapsed = MonotonicClock.seconds(since: start)
                            console.line(String(format: "  epoch %d: batch %d/%d, loss %.4f, %.0f s left in the epoch", epoch, done, of, loss,
                                                elapsed / Double(done) * Double(of - done)))
                        }
                    } catch { throw ValidationError("\(error)") }
                    let took = MonotonicClock.seconds(since: start)
                    seconds += took
                    epochs.append(["epoch": epoch, "train_loss": Double(result.loss), "train_accuracy": Double(result.accuracy), "seconds": took])
                    console.line(String(format: "epoch %d/%d: train loss %.4f, train accuracy %.2f%%, %.1f s, %.0f s left", epoch, config.epochs,
                                        result.loss, 100 * result.accuracy, took, seconds / Double(epoch) * Double(config.epochs - epoch)))
                    if let plots {
                        plots.add("loss.png", title: "vit: loss per epoch", x: "epoch", y: "loss (cross-entropy)", series: "train (mean over the epoch)",
                                  Double(epoch), Double(result.loss))
                        plots.add("accuracy.png", title: "vit: accuracy per epoch", x: "epoch", y: "accuracy (%)", series: "train (over the epoch)",
                                  Double(epoch), 100 * Double(result.accuracy))
                        plots.update(console)
                    }
                }
            }
        }
        let accuracy = test.pixels.withUnsafeBufferPointer { pixels in
            test.labels.withUnsafeBufferPointer { trainer.accuracy(pixels: pixels, labels: $0, count: test.count) }
        }
        console.line(String(format: "test accuracy %.2f%% on %d digits; %.1f s of training, %.0f digits/s", 100 * accuracy, test.count, seconds,
                            Double(train.count * config.epochs) / max(seconds, 1e-9)))
        if let plots {
            plots.add("accuracy.png", title: "vit: accuracy per epoch", x: "epoch", y: "accuracy (%)", series: "test (after the last epoch)",
                      Double(config.epochs), 100 * Double(accuracy))
            try plots.write()
        }
        defer { console.plotsWritten(plots) }
        if let output = options.output {
            try console.writeModel(to: output, what: "a version-2 model file; infer_classify_png reads digits with it") {
                try ModelWriter.encode(vit: trainer)
            }
        }
        if options.json {
            let object: [String: Any] = [
                "model": "vit", "test_accuracy": Double(accuracy), "train_accuracy": epochs.last?["train_accuracy"] ?? NSNull(),
                "train_loss": epochs.last?["train_loss"] ?? NSNull(), "epochs": config.epochs, "history": epochs, "train_seconds": seconds,
                "samples_per_second": Double(train.count * config.epochs) / max(seconds, 1e-9), "patch": shape.patch, "layers": shape.layers,
                "heads": shape.heads, "width": shape.features, "batch": config.batch, "learning_rate": Double(config.learningRate),
                "parameters": parameters, "arena_bytes": trainer.arena.capacity, "seed": config.seed,
            ]
            print(JSONText.encode(object))
        }
    }
}
