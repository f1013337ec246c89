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
        // Batch norms fold into the dense layers before them.
        let folded = try inferenceGraph(inference.graph, weights: trainer.generatorWeights, what: "the generator")
        let description = Description(inputShape: (1, 1, config.latent), outputKind: .values, inputEncoding: .gaussianLatent)
        return try encodeGraph(folded.graph, values: folded.values, description: description)
    }
}
