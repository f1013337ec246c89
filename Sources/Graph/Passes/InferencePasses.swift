/// Tensor values by value index, for passes that change weights (folding at export).
public typealias TensorValues = [Int: [Float]]

extension Graph {
    /// The graph as evaluation runs it: dropout nodes go (their readers read the input), and
    /// each batch norm whose input comes only from a dense or conv2d node with weights of its own
    /// folds into them: W′ = W·γ/√(σ² + ε) per output channel, b′ = (b − μ)·γ/√(σ² + ε) + β, with
    /// the running statistics. `values` holds the parameters and state (by value index) and is
    /// updated in place for the folded weights. Other batch norms stay (they run on the running
    /// statistics).
    /// - Returns: the graph, and where each value of this graph went (nil for removed ones).
    public func forInference(values: inout TensorValues) throws(GraphError) -> (graph: Graph, map: [ValueID?]) {
        var rewrite = GraphRewrite(self)
        let consumers = self.consumers
        for (k, node) in nodes.enumerated() {
            switch node.op {
            case .dropout:
                rewrite.replaceUses(of: node.outputs[0], with: rewrite.nodes[k].inputs[0])
                rewrite.drop(node: k)
            case .batchNorm:
                let x = node.inputs[0]
                guard let c = self.values[x.index].producer, [.dense, .conv2d].contains(nodes[c].op), consumers[x.index] == [k],
                      !outputs.contains(x) else { continue }
                let w = nodes[c].inputs[1], b = nodes[c].inputs[2]
                guard consumers[w.index] == [c], consumers[b.index] == [c],
                      let gamma = values[node.inputs[1].index], let beta = values[node.inputs[2].index],
                      let mean = values[node.inputs[3].index], let variance = values[node.inputs[4].index],
                      var weight = values[w.index], var bias = values[b.index] else { continue }
                let channels = gamma.count
                let (scale, shift) = BatchNormalization.affine(gamma: gamma, beta: beta, mean: mean, variance: variance)
                // Dense weights are [inputs, outputs] (channel = column); conv weights [F, C, kh, kw] (channel = row).
                let perChannel = weight.count / channels
                for ch in 0..<channels {
                    if nodes[c].op == .dense {
                        for i in 0..<perChannel { weight[i * channels + ch] *= scale[ch] }
                    } else {
                        for j in 0..<perChannel { weight[ch * perChannel + j] *= scale[ch] }
                    }
                    bias[ch] = bias[ch] * scale[ch] + shift[ch]
                }
                values[w.index] = weight
                values[b.index] = bias
                rewrite.replaceUses(of: node.outputs[0], with: x)
                rewrite.drop(node: k)
            default:
                continue
            }
        }
        return try rewrite.finish()
    }
}
