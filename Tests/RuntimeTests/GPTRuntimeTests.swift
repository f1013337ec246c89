import Testing
import Foundation
import Graph
import Infer
import InferC
import LowLevel
import MallocCounter
import ModelFile
import Training

/// A trained GPT as a version-2 model file, run by the C runtime: a window's logits are the graph
/// executor's bit for bit (the same kernels: the products through the same GEMM calls, layer norm
/// and attention through `Kernels`), generation's up to the row products' rounding, greedy
/// continuations agree token for token, a window allocates nothing, and `infer_run` refuses token
/// input.
@Suite(.serialized) struct GPTRuntimeTests {
    init() { BLAS.configure(threads: 1) }

    static let text: [UInt8] = Array(String(repeating: "the cat sat on the mat. a dog ran to the cat. ", count: 60).utf8)

    static func trained(biases: Bool, sinusoidal: Bool, width: Int = 16) throws -> (GPTTrainer, TextCorpus) {
        let corpus = try TextCorpus(text: text)
        var shape = GPTConfig(vocabulary: corpus.vocabulary.count, layers: 2, heads: 2, width: width, context: 12,
                              sinusoidalPositions: sinusoidal)
        shape.biases = biases
        shape.dropout = 0.1 // training only: the file's graph has none
        var config = GPTTrainingConfig()
        config.iterations = 40
        config.batch = 4
        config.learningRate = 1e-2
        config.warmup = 5
        let trainer = try GPTTrainer(gpt: try GPTGraph(shape), config: config)
        try corpus.train.withUnsafeBufferPointer { train in for _ in 0..<config.iterations { _ = try trainer.step(train) } }
        return (trainer, corpus)
    }

    @Test(arguments: [(true, false), (false, true)])
    func runtimeMatchesTheExecutor(biases: Bool, sinusoidal: Bool) throws {
        let (trainer, corpus) = try Self.trained(biases: biases, sinusoidal: sinusoidal)
        let bytes = try ModelWriter.encode(gpt: trainer, vocabulary: corpus.vocabulary)
        let opened = try OpenModel(bytes)
        let model = UnsafeMutablePointer<RuntimeModel>(opened.handle)
        let t = trainer.gpt.config.context, v = trainer.gpt.config.vocabulary
        #expect(model.pointee.file.inputIsTokens && model.pointee.inputLength == t && model.pointee.outputLength == t * v)
        let ops = (0..<model.pointee.file.layerCount).map { model.pointee.file.node($0).op }
        #expect(ops.contains(.attention) && ops.contains(.layerNorm) && ops.contains(.gelu) && ops.contains(.embedding))
        // infer_run takes floats: a sequence model refuses it.
        #expect(opened.run([Float](repeating: 0, count: t)).status == InferStatus.shape.rawValue)
        #expect(String(cString: infer_last_error()).contains("sequence model"))

        let executor = trainer.executor
        executor.rows = 1
        defer { executor.rows = trainer.config.batch }
        var rng = SeededRandom(seed: 3)
        var window = [Int32](repeating: 0, count: t)
        for _ in 0..<5 {
            for i in 0..<t { window[i] = Int32(Int(rng.uniform(0, Float(v) - 0.01))) }
            _ = executor.intView(of: trainer.gpt.tokens).update(fromContentsOf: window)
            executor.forward(training: false)
            let expected = Array(executor.view(of: trainer.gpt.logits))
            let got = window.withUnsafeBufferPointer { Array(UnsafeBufferPointer(start: model.pointee.run(tokens: $0.baseAddress!), count: t * v)) }
            #expect(got.map(\.bitPattern) == expected.map(\.bitPattern), "logits differ from the executor's")
        }
        // A window allocates nothing.
        window.withUnsafeBufferPointer { ids in
            malloc_counter_start()
            for _ in 0..<5 { _ = model.pointee.run(tokens: ids.baseAddress!) }
            #expect(malloc_counter_stop() == 0)
        }

        // Greedy continuations: the trainer's, and one through the runtime (the window cropped and
        // padded as the trainer does).
        let prompt = Array("the ".utf8).map { byte in Int32(corpus.vocabulary.firstIndex(of: byte)!) }
        var swift = [Int32](repeating: 0, count: prompt.count + 30), scratch = [Float](repeating: 0, count: v)
        prompt.withUnsafeBufferPointer { p in
            swift.withUnsafeMutableBufferPointer { out in
                scratch.withUnsafeMutableBufferPointer { trainer.generate(prompt: p, count: 30, temperature: 0, topK: 0, seed: 1, into: out, scratch: $0) }
            }
        }
        var runtime = prompt
        while runtime.count < prompt.count + 30 {
            let n = min(runtime.count, t), start = runtime.count - n
            for i in 0..<t { window[i] = i < n ? runtime[start + i] : 0 }
            let logits = window.withUnsafeBufferPointer { model.pointee.run(tokens: $0.baseAddress!) }
            runtime.append(Int32(Kernels.argmax(logits + (n - 1) * v, count: v)))
        }
        #expect(runtime == swift, "greedy continuations differ")
    }

    /// include/infer.h's sequence calls on a GPT file: tokenising, next-token probabilities
    /// (equal to the executor's softmax, and past the context to the model on the last context
    /// tokens), generation equal to the trainer's for the same seed, greedy and sampled, no
    /// allocation, and INFER_E_SHAPE from other models. Head sizes 8 and 72: the attention row's
    /// dot products in their scalar tail and in their 64- and 16-wide SIMD loops.
    @Test(arguments: [16, 144]) func sequenceCallsMatchSwift(width: Int) throws {
        let (trainer, corpus) = try Self.trained(biases: false, sinusoidal: false, width: width)
        let opened = try OpenModel(try ModelWriter.encode(gpt: trainer, vocabulary: corpus.vocabulary))
        let h = opened.handle, t = trainer.gpt.config.context, v = trainer.gpt.config.vocabulary
        #expect(infer_vocab_len(h) == v && infer_context_len(h) == t)
        var tokens = [Int32](repeating: -1, count: 16), n = 0
        #expect(infer_tokenize(h, "the cat", 7, &tokens, 16, &n) == 0 && n == 7)
        #expect(tokens.prefix(7).map { corpus.vocabulary[Int($0)] } == Array("the cat".utf8))
        #expect(infer_tokenize(h, "the cat", 7, &tokens, 3, &n) == InferStatus.argument.rawValue)
        #expect(infer_tokenize(h, "xyz", 3, &tokens, 16, &n) == InferStatus.argument.rawValue)
        #expect(String(cString: infer_last_error()).contains("not in the model's vocabulary"))

        let executor = trainer.executor
        executor.rows = 1
        defer { executor.rows = trainer.config.batch }
        func expectedProbabilities(_ sequence: [Int32]) -> [Float] {
            let n = min(sequence.count, t), window = Array(sequence.suffix(n)) + [Int32](repeating: 0, count: t - n)
            _ = executor.intView(of: trainer.gpt.tokens).update(fromContentsOf: window)
            executor.forward(training: false)
            let logits = Array(executor.view(of: trainer.gpt.logits)[((n - 1) * v)..<(n * v)])
            var p = logits
            Kernels.softmaxRows(logits, into: &p, rows: 1, columns: v)
            return p
        }
        var rng = SeededRandom(seed: 8)
        let sequence = (0..<(t + 5)).map { _ in Int32(Int(rng.uniform(0, Float(v) - 0.01))) }
        var probabilities = [Float](repeating: 0, count: v)
        #expect(UnsafeMutablePointer<RuntimeModel>(h).pointee.cachesKeysAndValues)
        #expect(infer_reset(h) == 0)
        for (i, token) in sequence.enumerated() {
            #expect(infer_next(h, token, &probabilities, v) == 0)
            let expected = expectedProbabilities(Array(sequence.prefix(i + 1)))
            // Decoded from the cache, and past the context the window with its last block for the
            // last row only: the window's probabilities up to the row products' rounding.
            let worst = zip(probabilities, expected).map { abs($0 - $1) }.max()!
            #expect(worst <= 1e-6, "after \(i + 1) tokens: \(worst)")
        }
        // A reset starts over: the first token's probabilities again.
        #expect(infer_reset(h) == 0 && infer_next(h, sequence[0], &probabilities, v) == 0)
        #expect(zip(probabilities, expectedProbabilities([sequence[0]])).allSatisfy { abs($0 - $1) <= 1e-6 })
        #expect(infer_next(h, Int32(v), &probabilities, v) == InferStatus.argument.rawValue)
        #expect(infer_next(h, 0, &probabilities, v - 1) == InferStatus.shape.rawValue)
        // Generation: the trainer's continuation for the same prompt, seed, temperature and top-k.
        let prompt = "the "
        let ids = Array(prompt.utf8).map { Int32(corpus.vocabulary.firstIndex(of: $0)!) }
        for (temperature, topK, seed) in [(Float(0), 0, UInt64(1)), (0.8, 5, 7), (1.0, 0, 11)] {
            var swift = [Int32](repeating: 0, count: ids.count + 40), scratch = [Float](repeating: 0, count: v)
            ids.withUnsafeBufferPointer { p in
                swift.withUnsafeMutableBufferPointer { out in
                    scratch.withUnsafeMutableBufferPointer {
                        trainer.generate(prompt: p, count: 40, temperature: temperature, topK: topK, seed: seed, into: out, scratch: $0)
                    }
                }
            }
            var out = [CChar](repeating: 0, count: 40), written = 0
            #expect(infer_generate(h, prompt, 4, 40, temperature, Int32(topK), seed, &out, 40, &written) == 0 && written == 40)
            #expect(out.map { UInt8(bitPattern: $0) } == swift.dropFirst(ids.count).map { corpus.vocabulary[Int($0)] },
                    "temperature \(temperature), top-k \(topK)")
        }
        var out = [CChar](repeating: 0, count: 8), written = 0
        #expect(infer_generate(h, prompt, 4, 9, 0, 0, 1, &out, 8, &written) == InferStatus.argument.rawValue)
        #expect(infer_generate(h, "", 0, 4, 0, 0, 1, &out, 8, &written) == InferStatus.argument.rawValue)
        // No call allocates (pointers taken outside the counted region: Swift's String and array
        // bridging allocates in a debug build).
        let promptBytes = Array(prompt.utf8CString)
        var calls = -1
        promptBytes.withUnsafeBufferPointer { p in
            probabilities.withUnsafeMutableBufferPointer { probs in
                out.withUnsafeMutableBufferPointer { o in
                    withUnsafeMutablePointer(to: &written) { count in
                        malloc_counter_start()
                        for i in 0..<4 { _ = infer_next(h, sequence[i], probs.baseAddress, v) }
                        _ = infer_generate(h, p.baseAddress, 4, 8, 0.8, 5, 3, o.baseAddress, 8, count)
                        calls = Int(malloc_counter_stop())
                    }
                }
            }
        }
        #expect(calls == 0)
        // Other models: INFER_E_SHAPE, and no vocabulary.
        let mlp = try OpenModel(TrainedModel.shared.bytes)
        #expect(infer_vocab_len(mlp.handle) == 0 && infer_context_len(mlp.handle) == 0)
        #expect(infer_next(mlp.handle, 0, &probabilities, v) == InferStatus.shape.rawValue)
        #expect(infer_generate(mlp.handle, prompt, 4, 4, 0, 0, 1, &out, 8, &written) == InferStatus.shape.rawValue)
        #expect(infer_reset(mlp.handle) == InferStatus.shape.rawValue)
        #expect(infer_tokenize(mlp.handle, "a", 1, &tokens, 16, &n) == InferStatus.shape.rawValue)
        #expect(infer_next(nil, 0, &probabilities, v) == InferStatus.argument.rawValue)
    }

    /// A sequence model that cannot decode by position (attention without the causal mask, as an
    /// encoder's) has no key/value cache and reruns its window for every token: infer_next's
    /// probabilities are the window's last row, bit for bit, inside and past the context.
    @Test func nonCausalModelsRerunTheWindow() throws {
        let (trainer, corpus) = try Self.trained(biases: true, sinusoidal: false)
        var file = try ModelWriter.graphFile(gpt: trainer, vocabulary: corpus.vocabulary)
        for n in file.nodes.indices where file.nodes[n].op == .attention {
            let a = file.nodes[n].arguments.firstIndex { $0.name == "causal" }!
            file.nodes[n].arguments[a].value = .ints([0])
        }
        let bytes = try ModelWriter.serialise(graph: file, description: ModelWriter.gptDescription(trainer.gpt.config))
        let opened = try OpenModel(bytes), window = try OpenModel(bytes)
        let h = opened.handle, t = trainer.gpt.config.context, v = trainer.gpt.config.vocabulary
        let model = UnsafeMutablePointer<RuntimeModel>(h), reference = UnsafeMutablePointer<RuntimeModel>(window.handle)
        #expect(!model.pointee.cachesKeysAndValues)
        let cached = try OpenModel(try ModelWriter.encode(gpt: trainer, vocabulary: corpus.vocabulary))
        #expect(opened.arenaLength < cached.arenaLength, "no cache in the arena")
        var rng = SeededRandom(seed: 5)
        let sequence = (0..<(t + 4)).map { _ in Int32(Int(rng.uniform(0, Float(v) - 0.01))) }
        var probabilities = [Float](repeating: 0, count: v), ids = [Int32](repeating: 0, count: t)
        #expect(infer_reset(h) == 0)
        for (i, token) in sequence.enumerated() {
            #expect(infer_next(h, token, &probabilities, v) == 0)
            let n = min(i + 1, t)
            for j in 0..<t { ids[j] = j < n ? sequence[i + 1 - n + j] : 0 }
            let logits = ids.withUnsafeBufferPointer { Array(UnsafeBufferPointer(start: reference.pointee.run(tokens: $0.baseAddress!) + (n - 1) * v, count: v)) }
            var expected = logits
            Kernels.softmaxRows(logits, into: &expected, rows: 1, columns: v)
            #expect(probabilities.map(\.bitPattern) == expected.map(\.bitPattern), "after \(i + 1) tokens")
        }
    }

    /// Corrupt transformer records are refused with the node named.
    @Test func corruptTransformerNodesAreFormatErrors() throws {
        let (trainer, corpus) = try Self.trained(biases: true, sinusoidal: false)
        let good = try ModelWriter.graphFile(gpt: trainer, vocabulary: corpus.vocabulary)
        let description = ModelWriter.gptDescription(trainer.gpt.config)
        _ = try OpenModel(try ModelWriter.serialise(graph: good, description: description))
        func rejected(_ expected: String, _ change: (inout GraphFile) -> Void) throws {
            var file = good
            change(&file)
            try GraphFileTests.expectFormatError(try ModelWriter.serialise(graph: file, description: description), expected)
        }
        func node(_ op: GraphFormat.Op) -> Int { good.nodes.firstIndex { $0.op == op }! }
        func argument(_ file: inout GraphFile, _ op: GraphFormat.Op, _ name: String, _ value: GraphFile.Argument) {
            let n = node(op), a = file.nodes[n].arguments.firstIndex { $0.name == name }!
            file.nodes[n].arguments[a].value = value
        }
        try rejected("heads must divide") { argument(&$0, .attention, "heads", .ints([3])) }
        try rejected("slice columns outside") { argument(&$0, .slice, "columns", .ints([40, 16])) }
        try rejected("matmul shapes do not fit") { argument(&$0, .matmul, "transposeB", .ints([0])) }
        try rejected("epsilon") { argument(&$0, .layerNorm, "epsilon", .floats([-1])) }
        try rejected("wrong element type") { file in
            let e = node(.embedding)
            file.nodes[e].inputs[0] = file.nodes[e].inputs[1] // the table as ids: float32
        }
    }
}
