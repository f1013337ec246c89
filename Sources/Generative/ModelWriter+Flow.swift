import Graph
import ModelFile
import Training

extension ModelWriter {
    /// The version-2 file of a trained flow: both directions in one graph (`FlowModelGraph`), the
    /// sampler as the main entry (z [C, H, W] in, input encoding `gaussianLatent`, so
    /// `infer_sample` draws it; the image in [0, 1] out) and the density as the density entry
    /// (`infer_log_density`). `weights` holds every parameter and mask by name (`FlowTrainer.weights`).
    public static func encode(flow config: FlowConfig, weights: [String: [Float]]) throws(ModelWriteError) -> [UInt8] {
        let model: FlowModelGraph
        do { model = try FlowModelGraph(config) } catch { throw ModelWriteError(message: "cannot build the flow's graph: \(error)") }
        let folded = try inferenceGraph(model.graph, weights: weights, what: "the flow")
        guard let input = folded.map[model.densityInput.index], let nll = folded.map[model.nll.index] else {
            throw ModelWriteError(message: "the flow's density entry did not survive the inference passes")
        }
        let description = Description(inputShape: (config.channels, config.height, config.width), outputKind: .values,
                                      inputEncoding: .gaussianLatent)
        return try serialise(graph: graphFile(folded.graph, values: folded.values, density: (input, nll)), description: description)
    }
}
