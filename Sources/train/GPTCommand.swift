import ArgumentParser
import Foundation
import Graph
import InferTools
import LowLevel
import ModelFile
import Training

/// `train --model gpt`: a character GPT on a text, nanoGPT's CPU configuration by default
/// (4 blocks, 4 heads, width 128, context 64, batch 12, 2,000 iterations, lr 1e-3 warmed up over
/// 100 iterations then decayed to 1e-4, dropout 0), so its losses compare with nanoGPT's.
struct GPTCommand {
    let options: Train
    let console: Console

    static func validate(_ o: Train) throws {
        let mnistOnly: [(String, Bool)] = [("--hidden", o.hidden != nil), ("--activation", o.activation != nil), ("--epochs", o.epochs != nil),
                                           ("--optimizer", o.optimizer != nil), ("--schedule", o.schedule != nil), ("--momentum", o.momentum != nil),
                                           ("--train-limit", o.trainLimit != nil),
                                           ("--validation-fraction", o.validationFraction != nil), ("--dataset", o.dataset != "mnist")]
        if let flag = mnistOnly.first(where: \.1) { throw ValidationError("\(flag.0) is not an option of --model gpt") }
        if o.output != nil && o.objective == "mlm" {
            throw ValidationError("--output writes next-token GPTs (the C runtime generates text); a masked-token model has no model file yet")
        }
        if let layers = o.layers, Int(layers) == nil { throw ValidationError("--layers for --model gpt is a number of blocks, not '\(layers)'") }
        for (name, value) in [("--layers", o.layers.flatMap { Int($0) }), ("--heads", o.heads), ("--width", o.width), ("--context", o.context),
                              ("--iters", o.iters), ("--batch", o.batch), ("--eval-every", o.evalEvery), ("--eval-iters", o.evalIters),
                              ("--accumulate", o.accumulate)] {
            if let value, value <= 0 { throw ValidationError("\(name) must be positive, not \(value)") }
        }
        if let warmup = o.warmup, warmup < 0 { throw ValidationError("--warmup must be 0 or more, not \(warmup)") }
        if let p = o.positions, !["learned", "sinusoidal"].contains(p) { throw ValidationError("--positions is learned or sinusoidal, not '\(p)'") }
        if let objective = o.objective {
            guard GPTConfig.Objective(rawValue: objective) != nil else { throw ValidationError("--objective is next or mlm, not '\(objective)'") }
            if objective == "mlm" && o.tokens != nil { throw ValidationError("--tokens continues a prompt, which a masked-token model (--objective mlm) does not do") }
        }
        if let d = o.dropout, !(d >= 0 && d < 1) { throw ValidationError("--dropout must be in [0, 1), not \(d)") }
        if let lr = o.lr, !(lr > 0 && lr.isFinite) { throw ValidationError("--lr must be a positive number, not \(lr)") }
        if let wd = o.weightDecay, !(wd >= 0 && wd.isFinite) { throw ValidationError("--weight-decay must be 0 or more, not \(wd)") }
        if let n = o.tokens, n < 0 { throw ValidationError("--tokens must be 0 or more, not \(n)") }
        if let t = o.temperature, !(t >= 0 && t.isFinite) { throw ValidationError("--temperature must be 0 or more, not \(t)") }
        if let k = o.topK, k < 0 { throw ValidationError("--top-k must be 0 or more, not \(k)") }
        if o.prompt?.isEmpty == true { throw ValidationError("--prompt must not be empty") }
        if (o.prompt != nil || o.temperature != nil || o.topK != nil) && o.tokens == nil {
            throw ValidationError("--prompt, --temperature and --top-k go with --tokens N")
        }
    }

    /// The text: --text FILE, else input.txt in --data DIR, else in $TINYSHAKESPEARE_DIR.
    func textPath() throws -> String {
        if let text = options.text { return text }
        let environment = ProcessInfo.processInfo.environment["TINYSHAKESPEARE_DIR"].flatMap { $0.isEmpty ? nil : $0 }
        guard let directory = options.data ?? environment else {
            throw ValidationError("--model gpt needs a text: --text FILE, --data DIR (with input.txt), or TINYSHAKESPEARE_DIR")
        }
        return directory + "/input.txt"
    }

    /// The prompt continued by `count` bytes, as text (bytes that are not UTF-8 shown as U+FFFD).
    func generate(_ trainer: GPTTrainer, _ corpus: TextCorpus, count: Int) throws -> String {
        let prompt = Array((options.prompt ?? "\n").utf8)
        var index = [Int32](repeating: -1, count: 256)
        for (i, byte) in corpus.vocabulary.enumerated() { index[Int(byte)] = Int32(i) }
        let ids = try prompt.map { byte throws -> Int32 in
            guard index[Int(byte)] >= 0 else { throw ValidationError("--prompt holds byte \(byte), which is not in the model's vocabulary") }
            return index[Int(byte)]
        }
        var output = [Int32](repeating: 0, count: ids.count + count)
        var scratch = [Float](repeating: 0, count: corpus.vocabulary.count)
        ids.withUnsafeBufferPointer { prompt in
            output.withUnsafeMutableBufferPointer { out in
                scratch.withUnsafeMutableBufferPointer { p in
                    trainer.generate(prompt: prompt, count: count, temperature: options.temperature ?? 0.8, topK: options.topK ?? 200,
                                     seed: options.seed ?? 1337, into: out, scratch: p)
                }
            }
        }
        return String(decoding: output.map { corpus.vocabulary[Int($0)] }, as: UTF8.self)
    }

    func run() throws {
        let path = try textPath()
        let bytes: [UInt8]
        do { bytes = try AtomicFile.read(path) } catch { throw ValidationError("cannot read the text \(path): \(error)") }
        let context = options.context ?? 64
        let corpus: TextCorpus
        do { corpus = try TextCorpus(text: bytes, minimumTokens: context + 1) } catch { throw ValidationError("\(path): \(error)") }
        let resumed: GPTCheckpoint?
        do { resumed = try options.resume.map { try GPTCheckpoint.read(path: $0) } } catch { throw ValidationError("\(error)") }
        if let resumed {
            guard resumed.header.vocabulary == corpus.vocabulary else {
                throw ValidationError("\(options.resume!) was trained on a text with another vocabulary than \(path)")
            }
            let shapeFlags = [options.layers != nil, options.heads != nil, options.width != nil, options.context != nil, options.positions != nil,
                              options.dropout != nil, options.biases != nil, options.objective != nil, options.batch != nil, options.accumulate != nil,
                              options.lr != nil, options.warmup != nil, options.weightDecay != nil, options.seed != nil]
            guard !shapeFlags.contains(true), options.iters == nil || options.iters == resumed.header.training.iterations else {
                throw ValidationError("a resumed run keeps its checkpoint's model and training settings (\(resumed.header.training.iterations) iterations); "
                                      + "give only --resume, --checkpoint and the evaluation and output flags")
            }
        }
        let objective = GPTConfig.Objective(rawValue: options.objective ?? "next")!
        // The masked-token objective's mask is one more token, after the text's bytes.
        var shape = GPTConfig(vocabulary: corpus.vocabulary.count + (objective == .maskedTokens ? 1 : 0), layers: options.layers.flatMap { Int($0) } ?? 4,
                              heads: options.heads ?? 4, width: options.width ?? 128, context: context,
                              sinusoidalPositions: options.positions == "sinusoidal")
        shape.dropout = options.dropout ?? 0
        shape.biases = options.biases ?? false
        shape.objective = objective
        if let problem = shape.problem { throw ValidationError(problem) }
        var config = GPTTrainingConfig()
        config.iterations = options.iters ?? 2_000
        config.batch = options.batch ?? 12
        config.accumulation = options.accumulate ?? 1
        config.learningRate = options.lr ?? 1e-3
        config.minimumLearningRate = config.learningRate / 10
        config.warmup = min(options.warmup ?? 100, config.iterations)
        config.weightDecay = options.weightDecay ?? 0.1
        config.seed = options.seed ?? 1337
        if let resumed { (shape, config) = (resumed.header.gpt, resumed.header.training) }
        let evalEvery = options.evalEvery ?? 250, evalIters = options.evalIters ?? 20
        let gpt = try GPTGraph(shape)
        let trainer = try GPTTrainer(gpt: gpt, config: config)
        if let resumed {
            do { try resumed.restore(into: trainer) } catch { throw ValidationError("\(options.resume!): \(error)") }
            console.line("resuming from \(options.resume!) after iteration \(trainer.steps) of \(config.iterations)")
        }
        func save() throws {
            guard let path = options.checkpoint else { return }
            do { try GPTCheckpoint(trainer: trainer, vocabulary: corpus.vocabulary).write(to: path) } catch {
                throw ValidationError("cannot write the checkpoint \(path): \(error)")
            }
        }
        let parameters = gpt.graph.parameters.reduce(0) { $0 + gpt.graph.type(of: $1).elementsPerSample }
        console.line("text: \(path), \(corpus.train.count) training and \(corpus.validation.count) validation tokens, vocabulary \(corpus.vocabulary.count)")
        console.line("model: gpt\(shape.objective == .maskedTokens ? " (masked tokens: an encoder, BERT's objective)" : ""), \(shape.layers) blocks, \(shape.heads) heads, width \(shape.width), context \(shape.context), "
                     + "\(shape.sinusoidalPositions ? "sinusoidal" : "learned") positions, \(shape.biases ? "with" : "no") biases, \(parameters) parameters; arena \(trainer.arena.capacity) bytes")
        console.line("training: \(config.iterations) iterations of \(config.accumulation > 1 ? "\(config.accumulation) × " : "")\(config.batch) × \(context) tokens, AdamW lr \(config.learningRate) "
                     + "(warm-up \(config.warmup), cosine to \(config.minimumLearningRate)), weight decay \(config.weightDecay), seed \(config.seed)")
        let tokensPerIteration = Double(config.batch * config.accumulation * context)
        var trainLoss: Float = .nan, validationLoss: Float = .nan, lastLoss: Float = .nan, windowLoss = Double.nan
        let start = MonotonicClock.now()
        var trainingSeconds = 0.0
        let plots = try options.plot.map(TrainingPlots.init)
        let plotTitle = shape.objective == .maskedTokens ? "masked-token model: loss" : "gpt: loss"
        try corpus.train.withUnsafeBufferPointer { train in
            try corpus.validation.withUnsafeBufferPointer { validation in
                let resumedAt = trainer.steps
                func estimate(_ iteration: Int) {
                    trainLoss = trainer.evaluate(train, batches: evalIters, seed: config.seed &+ 1)
                    validationLoss = trainer.evaluate(validation, batches: evalIters, seed: config.seed &+ 2)
                    let done = iteration - resumedAt
                    let rate = Double(done) * tokensPerIteration / max(trainingSeconds, 1e-9)
                    let left = done > 0 ? trainingSeconds / Double(done) * Double(config.iterations - iteration) : 0
                    console.line(String(format: "iter %d/%d: train loss %.4f, val loss %.4f, %.0f tokens/s, %.0f s left",
                                        iteration, config.iterations, trainLoss, validationLoss, rate, left))
                    if let plots {
                        let y = "loss (cross-entropy, nats per token)"
                        plots.add("loss.png", title: plotTitle, x: "iteration", y: y, series: "train", Double(iteration), Double(trainLoss))
                        plots.add("loss.png", title: plotTitle, x: "iteration", y: y, series: "validation", Double(iteration), Double(validationLoss))
                        plots.update(console)
                    }
                }
                let first = trainer.steps
                estimate(first)
                for iteration in first..<config.iterations {
                    let stepStart = MonotonicClock.now()
                    do { lastLoss = try trainer.step(train) } catch { throw ValidationError("\(error)") }
                    trainingSeconds += MonotonicClock.seconds(since: stepStart)
                    if (iteration + 1) % evalEvery == 0 || iteration + 1 == config.iterations {
                        estimate(iteration + 1)
                        try save()
                    }
                }
                // Every validation window once: the deterministic figure `export-tool verify` reproduces through C.
                if shape.objective == .nextToken { windowLoss = trainer.windowLoss(validation) }
            }
        }
        let total = MonotonicClock.seconds(since: start)
        let trained = config.iterations - (resumed?.header.step ?? 0)
        let msPerIteration = trainingSeconds / Double(max(trained, 1)) * 1000
        let tokensPerSecond = Double(trained) * tokensPerIteration / max(trainingSeconds, 1e-9)
        console.line(String(format: "done: val loss %.4f, train loss %.4f, %.1f ms/iter, %.0f tokens/s, %.1f s in all", validationLoss, trainLoss,
                            msPerIteration, tokensPerSecond, total))
        try plots?.write()
        console.plotsWritten(plots)
        if windowLoss.isFinite { console.line(String(format: "validation loss over every window of the validation part: %.4f (export-tool verify reproduces it through C)", windowLoss)) }
        if let output = options.output {
            do {
                let bytes = try ModelWriter.encode(gpt: trainer, vocabulary: corpus.vocabulary)
                try AtomicFile.write(bytes, to: output)
                console.line("wrote \(output): \(bytes.count) bytes (a version-2 model file; examples/c/generate continues a prompt with it)")
            } catch { throw ValidationError("cannot write \(output): \(error)") }
        }
        let sample = try options.tokens.map { count in try generate(trainer, corpus, count: count) }
        if let sample, !options.json { print(sample) }
        if options.json {
            let object: [String: Any] = [
                "model": "gpt", "objective": shape.objective.rawValue, "val_loss": Double(validationLoss), "train_loss": Double(trainLoss), "last_batch_loss": Double(lastLoss),
                "val_loss_windows": windowLoss.isFinite ? windowLoss : NSNull(),
                "iters": config.iterations, "ms_per_iter": msPerIteration, "tokens_per_second": tokensPerSecond,
                "layers": shape.layers, "heads": shape.heads, "biases": shape.biases, "width": shape.width, "context": shape.context, "batch": config.batch, "accumulate": config.accumulation,
                "vocabulary": corpus.vocabulary.count, "parameters": parameters, "arena_bytes": trainer.arena.capacity,
                "learning_rate": Double(config.learningRate), "seed": config.seed, "blas_kernel": BLAS.coreName,
            ].merging(sample.map { ["sample": $0] } ?? [:]) { a, _ in a }
            print(JSONText.encode(object))
        }
    }
}
