import Graph
import Training

extension Safetensors {
    /// The tensors of a nanoGPT model as the weights of a `GPTConfig` of the given shape: names as
    /// nanoGPT's `state_dict` (`transformer.wte.weight`, `transformer.h.N.attn.c_attn.weight`, ...,
    /// with `torch.compile`'s `_orig_mod.` prefix removed), `nn.Linear` weights [out, in] as the
    /// graph stores them, learned positions, and biases when the file has them (nanoGPT's
    /// `bias=True`). Two things nanoGPT saves are not parameters and are skipped: the causal-mask
    /// buffers (`.attn.bias` of rank 4) and `lm_head.weight`, the tied head, which must equal
    /// `transformer.wte.weight` (an untied head is refused).
    /// - Throws: a message naming the first missing, misshapen or unexpected tensor.
    public func gpt(layers: Int, heads: Int, width: Int, context: Int, vocabulary: Int) throws(SafetensorsError) -> (GPTConfig, [String: [Float]]) {
        var named: [String: Tensor] = [:]
        for (key, tensor) in tensors {
            let name = key.hasPrefix("_orig_mod.") ? String(key.dropFirst("_orig_mod.".count)) : key
            if name.hasSuffix(".attn.bias") && tensor.shape.count == 4 { continue }
            named[name] = tensor
        }
        guard let wte = named["transformer.wte.weight"] else {
            throw SafetensorsError(message: "no transformer.wte.weight: not a nanoGPT model (its tensors: \(named.keys.sorted().prefix(6).joined(separator: ", ")))")
        }
        guard wte.shape == [vocabulary, width] else {
            throw SafetensorsError(message: "transformer.wte.weight has shape \(wte.shape); a vocabulary of \(vocabulary) bytes at width \(width) needs [\(vocabulary), \(width)]")
        }
        if let head = named.removeValue(forKey: "lm_head.weight"), head.shape != wte.shape || head.values != wte.values {
            throw SafetensorsError(message: "lm_head.weight differs from transformer.wte.weight: the runtime's GPT ties its output head to the token embedding")
        }
        var config = GPTConfig(vocabulary: vocabulary, layers: layers, heads: heads, width: width, context: context)
        config.biases = named["transformer.h.0.attn.c_attn.bias"] != nil
        if let problem = config.problem { throw SafetensorsError(message: "--arch: \(problem)") }
        let graph: Graph
        do { graph = try GPTGraph.inference(config).graph } catch {
            throw SafetensorsError(message: "cannot build the GPT: \(error)")
        }
        var weights: [String: [Float]] = [:]
        for id in graph.parameters {
            let name = graph.values[id.index].name, shape = graph.type(of: id).shape
            guard let tensor = named.removeValue(forKey: name) else {
                throw SafetensorsError(message: "no tensor \(name) (shape \(shape)): the file does not hold a \(layers)-layer GPT of width \(width)\(config.biases ? " with biases" : "")")
            }
            guard tensor.shape == shape else {
                throw SafetensorsError(message: "\(name) has shape \(tensor.shape); layers=\(layers), heads=\(heads), width=\(width), context=\(context) need \(shape)")
            }
            weights[name] = tensor.values
        }
        guard named.isEmpty else {
            throw SafetensorsError(message: "tensors the GPT does not use: \(named.keys.sorted().prefix(8).joined(separator: ", ")) (more layers than --arch says?)")
        }
        return (config, weights)
    }
}
