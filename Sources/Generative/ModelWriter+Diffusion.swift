import Graph
import ModelFile
import Training

extension ModelWriter {
    /// The version-2 file of a trained DDPM: the noise-predicting U-Net (x_t [1, H, W] in, input
    /// encoding `gaussianLatent`, so `infer_sample` draws x_T; ε̂ out) with the timestep's
    /// embedding as the second input `diffusion.time`, and the diffusion entry's parameters:
    /// every step's embedding, ᾱ_1…ᾱ_T and the configured sampler, x̂_0 clipped to [−1, 1]
    /// since the images were scaled to that range (docs/FORMAT.md, "Diffusion
    /// models"). `weights` holds every parameter by name (`DiffusionTrainer.weights`).
    public static func encode(diffusion config: DiffusionConfig, weights: [String: [Float]]) throws(ModelWriteError) -> [UInt8] {
        if let problem = config.problem { throw ModelWriteError(message: "the diffusion's configuration is invalid: \(problem)") }
        let network: DiffusionNetwork
        do { network = try DiffusionNetwork(config, loss: false) } catch {
            throw ModelWriteError(message: "cannot build the U-Net's graph: \(error)")
        }
        let folded = try inferenceGraph(network.graph, weights: weights, what: "the U-Net")
        guard let time = folded.map[network.time.index] else {
            throw ModelWriteError(message: "the U-Net's time input did not survive the inference passes")
        }
        var file = try graphFile(folded.graph, values: folded.values, time: time)
        let schedule = DiffusionSchedule(config.schedule, steps: config.steps)
        var embedding = [Float](repeating: 0, count: config.steps * config.embedding)
        embedding.withUnsafeMutableBufferPointer { table in
            for t in 1...config.steps {
                DiffusionNetwork.timestepEmbedding(t, into: table.baseAddress! + (t - 1) * config.embedding, features: config.embedding)
            }
        }
        let sampler: [Float] = switch config.sampler {
        case .ancestral: [1, Float(config.steps), 1]
        case .ode: [2, Float(min(config.sampleSteps, config.steps)), 1]
        }
        _ = file.parameter(ModelTensor(name: GraphFormat.diffusionEmbeddingName.description, shape: [config.steps, config.embedding], values: embedding))
        _ = file.parameter(ModelTensor(name: GraphFormat.diffusionScheduleName.description, shape: [config.steps],
                                       values: schedule.alphaBar.dropFirst().map { Float($0) }))
        _ = file.parameter(ModelTensor(name: GraphFormat.diffusionSamplerName.description, shape: [3], values: sampler))
        let description = Description(inputShape: (1, config.height, config.width), outputKind: .values, inputEncoding: .gaussianLatent)
        return try serialise(graph: file, description: description)
    }
}
