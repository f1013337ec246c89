import Testing
import Foundation
import Graph
import LowLevel
import MallocCounter
import Training

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

    static func trainer(seed: UInt64 = 3, iterations: Int = 150, biases: Bool = true) throws -> (GPTTrainer, TextCorpus) {
        let corpus = try TextCorpus(text: text)
        var shape = GPTConfig(vocabulary: corpus.vocabulary.count, layers: 1, heads: 2, width: 16, context: 16)
        shape.biases = biases
        let gpt = try GPTGraph(shape)
        var config = GPTTrainingConfig()
        config.iterations = iterations
        config.batch = 8
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

    @Test func corpusNamesAByteOutsideTheVocabulary() {
        let text = Array(String(repeating: "abab", count: 100).utf8) + Array("zzzz".utf8)
        let error = #expect(throws: TrainingError.self) { try TextCorpus(text: text, trainFraction: 0.95) }
        #expect("\(error!)".contains("byte 122"))
    }
}
