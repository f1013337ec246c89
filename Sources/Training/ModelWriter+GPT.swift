import Graph
import ModelFile

extension ModelWriter {
    /// The version-2 file of a trained GPT: its inference graph (token ids [T] in, logits
    /// [T, vocabulary] out, no dropout), the weights by name, and the vocabulary as the parameter
    /// `vocabulary` (the byte each token id stands for, as floats; no node reads it).
    public static func encode(gpt trainer: GPTTrainer, vocabulary: [UInt8]) throws(ModelWriteError) -> [UInt8] {
        try serialise(graph: graphFile(gpt: trainer, vocabulary: vocabulary), description: gptDescription(trainer.gpt.config))
    }

    /// The header description of a GPT's file: a window of `context` token ids in, raw logits out.
    public static func gptDescription(_ config: GPTConfig) -> Description {
        Description(inputShape: (1, 1, config.context), outputKind: .values, inputEncoding: .floats)
    }

    /// The records `encode(gpt:vocabulary:)` writes.
    public static func graphFile(gpt trainer: GPTTrainer, vocabulary: [UInt8]) throws(ModelWriteError) -> GraphFile {
        var config = trainer.gpt.config
        guard config.objective == .nextToken else { throw ModelWriteError(message: "only next-token GPTs are written as model files yet") }
        guard vocabulary.count == config.vocabulary else {
            throw ModelWriteError(message: "the vocabulary has \(vocabulary.count) bytes, the model \(config.vocabulary) tokens")
        }
        config.dropout = 0
        let inference: (graph: Graph, tokens: ValueID, logits: ValueID)
        do { inference = try GPTGraph.inference(config) } catch { throw ModelWriteError(message: "cannot build the GPT's inference graph: \(error)") }
        let weights = Dictionary(trainer.namedTensors.map { ($0.name, Array($0.values)) }, uniquingKeysWith: { a, _ in a })
        var values: TensorValues = [:]
        for id in inference.graph.parameters {
            let name = inference.graph.values[id.index].name
            guard let w = weights[name] else { throw ModelWriteError(message: "the trainer has no parameter \(name)") }
            values[id.index] = w
        }
        var file = try graphFile(inference.graph, values: values)
        _ = file.parameter(ModelTensor(name: "vocabulary", shape: [vocabulary.count], values: vocabulary.map(Float.init)))
        return file
    }
}
