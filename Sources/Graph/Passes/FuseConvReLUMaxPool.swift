extension Graph {
    /// The conv → ReLU → max-pool fusion: where a direct (stride-1) convolution feeds a ReLU whose
    /// only reader is a max pool, the convolution applies max(x, 0) to each sample's output while
    /// it is still in cache (argument `relu`), the pool reads the convolution's output and routes a
    /// gradient only to positive winners (argument `positiveInputs`), and the ReLU node and its
    /// buffers go. Values are the same as the three nodes one by one.
    /// - Returns: the graph, and where each value of this graph went (nil for the ReLUs' outputs).
    public func fusingConvReLUMaxPool() throws(GraphError) -> (graph: Graph, map: [ValueID?]) {
        var rewrite = GraphRewrite(self)
        let consumers = self.consumers
        for (k, node) in nodes.enumerated() where node.op == .relu {
            let x = node.inputs[0], y = node.outputs[0]
            guard let c = values[x.index].producer, nodes[c].op == .conv2d, consumers[x.index] == [k],
                  !outputs.contains(x), !outputs.contains(y), consumers[y.index].count == 1,
                  nodes[consumers[y.index][0]].op == .maxPool2d else { continue }
            let types = nodes[c].inputs.map { values[$0.index].type }
            guard let g = try? Conv2D.geometry(types, nodes[c].attributes),
                  Conv2D.algorithm(g, nodes[c].attributes) == .direct else { continue }
            let pool = consumers[y.index][0]
            rewrite.nodes[c].attributes["relu"] = .int(1)
            rewrite.nodes[pool].inputs = [x]
            rewrite.nodes[pool].attributes["positiveInputs"] = .int(1)
            rewrite.drop(node: k)
        }
        return try rewrite.finish()
    }
}
