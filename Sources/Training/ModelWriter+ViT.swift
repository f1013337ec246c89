import Graph
import ModelFile

extension ModelWriter {
    /// The version-2 file of a trained vision transformer: its inference graph (an image of pixels
    /// in [0, 1] in, class probabilities out, no dropout) and the weights by name. It classifies
    /// PNGs through `infer_classify_png` as LeNet's file does.
    public static func encode(vit trainer: ViTTrainer) throws(ModelWriteError) -> [UInt8] {
        var config = trainer.vit.config
        config.dropout = 0
        let inference: (graph: Graph, images: ValueID, logits: ValueID)
        do { inference = try ViTGraph.inference(config) } catch { throw ModelWriteError(message: "cannot build the ViT's inference graph: \(error)") }
        let weights = Dictionary(trainer.namedTensors.map { ($0.name, Array($0.values)) }, uniquingKeysWith: { a, _ in a })
        var values: TensorValues = [:]
        for id in inference.graph.parameters {
            let name = inference.graph.values[id.index].name
            guard let w = weights[name] else { throw ModelWriteError(message: "no weights for the parameter \(name)") }
            values[id.index] = w
        }
        let description = Description(inputShape: (config.channels, config.height, config.width), outputKind: .probabilities,
                                      inputEncoding: .pixels)
        return try serialise(graph: try graphFile(inference.graph, values: values), description: description)
    }
}
