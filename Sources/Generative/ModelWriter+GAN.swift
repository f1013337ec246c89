import Graph
import ModelFile
import Training

extension ModelWriter {
    /// The version-2 file of a trained GAN's generator: z [latent] in (input encoding
    /// `gaussianLatent`, so `infer_sample` draws it), the image [channels, height, width] of pixels
    /// in [0, 1] out. The discriminator is not kept.
    public static func encode(gan trainer: GANTrainer) throws(ModelWriteError) -> [UInt8] {
        let config = trainer.config
        let inference: GeneratorGraph
        do { inference = try GeneratorGraph(config, inference: true) } catch {
            throw ModelWriteError(message: "cannot build the generator's inference graph: \(error)")
        }
        let weights = trainer.generatorWeights
        var values: TensorValues = [:]
        let graph = inference.graph
        for id in graph.parameters + graph.values(.state) {
            let name = graph.values[id.index].name
            guard let w = weights[name] else { throw ModelWriteError(message: "no weights for the parameter \(name)") }
            values[id.index] = w
        }
        // Batch norms fold into the dense layers before them.
        let folded: (graph: Graph, map: [ValueID?])
        do { folded = try graph.forInference(values: &values) } catch {
            throw ModelWriteError(message: "cannot fold the generator's batch norms: \(error)")
        }
        var moved: TensorValues = [:]
        for (old, v) in values { if let id = folded.map[old] { moved[id.index] = v } }
        let description = Description(inputShape: (1, 1, config.latent), outputKind: .values, inputEncoding: .gaussianLatent)
        return try encodeGraph(folded.graph, values: moved, description: description)
    }
}
