import Testing
import Foundation
import Graph
import LowLevel
import MallocCounter
import Training
import InferTools

/// A small GPT learns a small text: its validation loss falls far below the untrained one, the
/// same seed gives the same losses, and a training step allocates nothing.
@Suite(.serialized) struct GPTTrainingTests {
    init() { BLAS.configure(threads: 1) }

    static let text: [UInt8] = {
        let lines = ["the cat sat on the mat. ", "a dog ran to the cat. ", "the mat was red. ", "to be or not to be. "]
        var out: [UInt8] = []
        var state: UInt64 = 7
        while out.count < 6_000 {
            state = state &* 6364136223846793005 &+ 1442695040888963407
            out += Array(lines[Int(state >> 62)].utf8)
        }
        return out
    }()

    static func trainer(seed: UInt64 = 3, iterations: Int = 150, biases: Bool = true, batch: Int = 8,
                        accumulation: Int = 1) throws -> (GPTTrainer, TextCorpus) {
        let corpus = try TextCorpus(text: text)
        var shape = GPTConfig(vocabulary: corpus.vocabulary.count, layers: 1, heads: 2, width: 16, context: 16)
        shape.biases = biases
        let gpt = try GPTGraph(shape)
        var config = GPTTrainingConfig()
        config.iterations = iterations
        config.batch = batch
        config.accumulation = accumulation
        config.learningRate = 1e-2
        config.minimumLearningRate = 1e-3
        config.warmup = 10
        config.seed = seed
        return (try GPTTrainer(gpt: gpt, config: config), corpus)
    }

    @Test(arguments: [true, false]) func learnsASmallText(biases: Bool) throws {
        let (trainer, corpus) = try Self.trainer(biases: biases)
        #expect(trainer.gpt.graph.parameters.contains { trainer.gpt.graph.values[$0.index].name.hasSuffix(".bias") } == biases)
        try corpus.train.withUnsafeBufferPointer { train in
            try corpus.validation.withUnsafeBufferPointer { validation in
                let before = trainer.evaluate(validation, batches: 4, seed: 1)
                // Untrained: about the uniform loss, ln(vocabulary).
                #expect(abs(Double(before) - log(Double(corpus.vocabulary.count))) < 0.3)
                for _ in 0..<trainer.config.iterations { _ = try trainer.step(train) }
                let after = trainer.evaluate(validation, batches: 4, seed: 1)
                #expect(after < before / 2, "validation loss \(before) → \(after)")
            }
        }
    }

    /// Training k steps, checkpointing (through the file's bytes), restoring into a fresh trainer
    /// and training the rest ends with exactly the weights and moments of an uninterrupted run,
    /// dropout's generator included.
    @Test func resumedRunIsBitIdentical() throws {
        func trainer() throws -> (GPTTrainer, TextCorpus) {
            let corpus = try TextCorpus(text: Self.text)
            var shape = GPTConfig(vocabulary: corpus.vocabulary.count, layers: 1, heads: 2, width: 16, context: 16)
            shape.dropout = 0.1
            var config = GPTTrainingConfig()
            config.iterations = 12
            config.batch = 4
            config.warmup = 3
            config.seed = 21
            return (try GPTTrainer(gpt: try GPTGraph(shape), config: config), corpus)
        }
        let (straight, corpus) = try trainer()
        let (first, _) = try trainer(), (second, _) = try trainer()
        try corpus.train.withUnsafeBufferPointer { train in
            for _ in 0..<12 { _ = try straight.step(train) }
            for _ in 0..<5 { _ = try first.step(train) }
            let bytes = try GPTCheckpoint(trainer: first, vocabulary: corpus.vocabulary).encoded()
            let checkpoint = try GPTCheckpoint(decoding: bytes)
            #expect(checkpoint.header.step == 5 && checkpoint.header.vocabulary == corpus.vocabulary)
            try checkpoint.restore(into: second)
            #expect(second.steps == 5)
            for _ in 5..<12 { _ = try second.step(train) }
        }
        let a = straight.namedTensors, b = second.namedTensors
        #expect(a.count == b.count && a.count == 3 * straight.gpt.graph.parameters.count)
        for (x, y) in zip(a, b) {
            #expect(x.name == y.name)
            #expect(Array(x.values).map(\.bitPattern) == Array(y.values).map(\.bitPattern), "\(x.name) differs after resuming")
        }
        // A checkpoint of another shape is refused by name, and a network checkpoint's reader
        // tells it apart.
        let other = try TextCorpus(text: Self.text)
        let small = try GPTTrainer(gpt: try GPTGraph(GPTConfig(vocabulary: other.vocabulary.count, layers: 1, heads: 1, width: 8, context: 8)),
                                   config: GPTTrainingConfig())
        let bytes = try GPTCheckpoint(trainer: first, vocabulary: corpus.vocabulary).encoded()
        #expect(throws: CheckpointError.self) { try GPTCheckpoint(decoding: bytes).restore(into: small) }
        #expect(GPTCheckpoint.isGPT(bytes))
        #expect(throws: CheckpointError.self) { try Checkpoint(decoding: bytes) }
    }

    /// BERT's objective on the small text: an encoder (no causal mask) predicting the chosen
    /// positions' bytes from both sides ends far below the text's unigram entropy, the best a
    /// model without context can do.
    @Test func maskedTokenModelBeatsTheUnigramEntropy() throws {
        let corpus = try TextCorpus(text: Self.text)
        var shape = GPTConfig(vocabulary: corpus.vocabulary.count + 1, layers: 1, heads: 2, width: 32, context: 16)
        shape.objective = .maskedTokens
        let gpt = try GPTGraph(shape)
        #expect(gpt.weights != nil)
        #expect(gpt.graph.nodes.filter { $0.op == .attention }.allSatisfy { $0.attributes.int("causal") == 0 })
        var config = GPTTrainingConfig()
        config.iterations = 1500
        config.batch = 8
        config.learningRate = 3e-3
        config.minimumLearningRate = 1e-3
        config.warmup = 10
        config.seed = 4
        let trainer = try GPTTrainer(gpt: gpt, config: config)
        var counts = [Double](repeating: 0, count: corpus.vocabulary.count)
        for token in corpus.train { counts[Int(token)] += 1 }
        var entropy = 0.0
        for n in counts where n > 0 {
            let p = n / Double(corpus.train.count)
            entropy -= p * log(p)
        }
        try corpus.train.withUnsafeBufferPointer { train in
            try corpus.validation.withUnsafeBufferPointer { validation in
                let before = trainer.evaluate(validation, batches: 8, seed: 1)
                #expect(abs(Double(before) - log(Double(shape.vocabulary))) < 0.4, "untrained: \(before)")
                for _ in 0..<config.iterations { _ = try trainer.step(train) }
                let after = Double(trainer.evaluate(validation, batches: 8, seed: 1))
                #expect(after < entropy / 2, "masked-token loss \(after) against the unigram entropy \(entropy)")
            }
        }
    }

    @Test func sameSeedSameLosses() throws {
        func losses(_ seed: UInt64) throws -> [Float] {
            let (trainer, corpus) = try Self.trainer(seed: seed, iterations: 8)
            return try corpus.train.withUnsafeBufferPointer { train in try (0..<8).map { _ in try trainer.step(train) } }
        }
        #expect(try losses(5) == losses(5))
        #expect(try losses(5) != losses(6))
    }

    @Test func stepsAllocateNothing() throws {
        let (trainer, corpus) = try Self.trainer(iterations: 10)
        try corpus.train.withUnsafeBufferPointer { train in
            _ = try trainer.step(train)
            malloc_counter_start()
            for _ in 0..<5 { _ = try trainer.step(train) }
            _ = trainer.evaluate(train, batches: 2, seed: 1)
            let calls = malloc_counter_stop()
            #expect(calls == 0)
            #expect(trainer.arena.highWaterMark == trainer.arena.capacity, "the arena is planned exactly")
        }
    }

    /// Generation: the same seed gives the same text, greedy equals top-k 1, a prompt longer than
    /// the context is cropped to it, and a trained model continues its text plausibly. No call allocates.
    @Test func generatesDeterministically() throws {
        let (trainer, corpus) = try Self.trainer()
        try corpus.train.withUnsafeBufferPointer { train in for _ in 0..<trainer.config.iterations { _ = try trainer.step(train) } }
        let prompt = Array(corpus.train[0..<40]) // longer than the context of 16
        func run(_ temperature: Float, _ topK: Int, _ seed: UInt64) -> [Int32] {
            var out = [Int32](repeating: 0, count: prompt.count + 30), scratch = [Float](repeating: 0, count: corpus.vocabulary.count)
            prompt.withUnsafeBufferPointer { p in out.withUnsafeMutableBufferPointer { o in scratch.withUnsafeMutableBufferPointer { s in
                malloc_counter_start()
                trainer.generate(prompt: p, count: 30, temperature: temperature, topK: topK, seed: seed, into: o, scratch: s)
                #expect(malloc_counter_stop() == 0)
            } } }
            #expect(Array(out.prefix(prompt.count)) == prompt)
            return Array(out.dropFirst(prompt.count))
        }
        #expect(run(0.8, 0, 1) == run(0.8, 0, 1))
        #expect(run(0.8, 0, 1) != run(0.8, 0, 2))
        #expect(run(0, 0, 1) == run(1, 1, 9), "greedy is top-k 1 at any temperature and seed")
        // The text repeats four sentences: nearly every pair of neighbouring bytes a trained model
        // writes occurs in it (for uniform draws over this vocabulary, about one pair in six would).
        let greedy = run(0, 0, 1)
        let pairs = Set(zip(corpus.train, corpus.train.dropFirst()).map { Int($0) * 256 + Int($1) })
        let seen = zip(greedy, greedy.dropFirst()).filter { pairs.contains(Int($0) * 256 + Int($1)) }.count
        let text = String(decoding: greedy.map { corpus.vocabulary[Int($0)] }, as: UTF8.self)
        #expect(Double(seen) / Double(greedy.count - 1) >= 0.8, "greedy continuation: \(text)")
    }

    /// Two micro-batches of 4 windows make the update of one batch of 8: the same windows are drawn
    /// in the same order, and the gradients are averaged.
    @Test func accumulationEqualsTheLargerBatch() throws {
        let (whole, corpus) = try Self.trainer(iterations: 5, batch: 8)
        let (parts, _) = try Self.trainer(iterations: 5, batch: 4, accumulation: 2)
        try corpus.train.withUnsafeBufferPointer { train in
            for _ in 0..<5 {
                let a = try whole.step(train), b = try parts.step(train)
                #expect(abs(a - b) < 1e-5, "losses \(a) and \(b)")
            }
        }
        for id in whole.gpt.graph.parameters {
            for (a, b) in zip(whole.executor.view(of: id), parts.executor.view(of: id)) {
                #expect(abs(a - b) <= 1e-4 * max(1, abs(a)), "\(whole.gpt.graph.values[id.index].name): \(a) vs \(b)")
            }
        }
    }

    @Test func corpusNamesAByteOutsideTheVocabulary() {
        let text = Array(String(repeating: "abab", count: 100).utf8) + Array("zzzz".utf8)
        let error = #expect(throws: TrainingError.self) { try TextCorpus(text: text, trainFraction: 0.95) }
        #expect("\(error!)".contains("byte 122"))
    }
}
