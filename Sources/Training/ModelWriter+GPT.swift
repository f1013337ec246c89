import Graph
import ModelFile

extension ModelWriter {
    /// The version-2 file of a trained GPT: its inference graph (token ids [T] in, logits
    /// [T, vocabulary] out, no dropout), the weights by name, and the vocabulary as the parameter
    /// `vocabulary` (the byte each token id stands for, as floats; no node reads it).
    public static func encode(gpt trainer: GPTTrainer, vocabulary: [UInt8]) throws(ModelWriteError) -> [UInt8] {
        try serialise(graph: graphFile(gpt: trainer, vocabulary: vocabulary), description: gptDescription(trainer.gpt.config))
    }

    /// The same file from weights by nanoGPT's parameter names (as `export-tool convert` reads
    /// them from PyTorch): every parameter of `config`'s inference graph must be present.
    public static func encode(gpt config: GPTConfig, weights: [String: [Float]], vocabulary: [UInt8]) throws(ModelWriteError) -> [UInt8] {
        try serialise(graph: graphFile(gpt: config, weights: weights, vocabulary: vocabulary), description: gptDescription(config))
    }

    /// The header description of a GPT's file: a window of `context` token ids in, raw logits out.
    public static func gptDescription(_ config: GPTConfig) -> Description {
        Description(inputShape: (1, 1, config.context), outputKind: .values, inputEncoding: .floats)
    }

    /// The records `encode(gpt:vocabulary:)` writes.
    public static func graphFile(gpt trainer: GPTTrainer, vocabulary: [UInt8]) throws(ModelWriteError) -> GraphFile {
        let weights = Dictionary(trainer.namedTensors.map { ($0.name, Array($0.values)) }, uniquingKeysWith: { a, _ in a })
        return try graphFile(gpt: trainer.gpt.config, weights: weights, vocabulary: vocabulary)
    }

    /// The records `encode(gpt:weights:vocabulary:)` writes.
    public static func graphFile(gpt config: GPTConfig, weights: [String: [Float]], vocabulary: [UInt8]) throws(ModelWriteError) -> GraphFile {
        var config = config
        guard config.objective == .nextToken else { throw ModelWriteError(message: "only next-token GPTs are written as model files yet") }
        guard vocabulary.count == config.vocabulary else {
            throw ModelWriteError(message: "the vocabulary has \(vocabulary.count) bytes, the model \(config.vocabulary) tokens")
        }
        config.dropout = 0
        let inference: (graph: Graph, tokens: ValueID, logits: ValueID)
        do { inference = try GPTGraph.inference(config) } catch { throw ModelWriteError(message: "cannot build the GPT's inference graph: \(error)") }
        var values: TensorValues = [:]
        for id in inference.graph.parameters {
            let name = inference.graph.values[id.index].name
            guard let w = weights[name] else { throw ModelWriteError(message: "no weights for the parameter \(name)") }
            let count = inference.graph.type(of: id).elementsPerSample
            guard w.count == count else { throw ModelWriteError(message: "\(name) has \(w.count) values; the model needs \(count)") }
            values[id.index] = w
        }
        var file = try graphFile(inference.graph, values: values)
        _ = file.parameter(ModelTensor(name: "vocabulary", shape: [vocabulary.count], values: vocabulary.map(Float.init)))
        return file
    }
}
