/// Graph-to-graph rewriting for passes: edit nodes, drop nodes and the values only they
/// produced, and renumber. The result is validated like any graph.
struct GraphRewrite {
    var values: [Value]
    var nodes: [Node]
    var outputs: [ValueID]
    private var droppedNodes = Set<Int>()
    private var droppedValues = Set<Int>()

    init(_ graph: Graph) {
        values = graph.values
        nodes = graph.nodes
        outputs = graph.outputs
    }

    /// Points every reader of `old` (nodes and graph outputs) at `new`.
    mutating func replaceUses(of old: ValueID, with new: ValueID) {
        for k in nodes.indices {
            for j in nodes[k].inputs.indices where nodes[k].inputs[j] == old { nodes[k].inputs[j] = new }
        }
        for j in outputs.indices where outputs[j] == old { outputs[j] = new }
    }

    /// Removes node `k` and its outputs, which nothing may read afterwards.
    mutating func drop(node k: Int) {
        droppedNodes.insert(k)
        for id in nodes[k].outputs { droppedValues.insert(id.index) }
    }

    /// The rewritten graph and where each old value went (nil for dropped ones).
    func finish() throws(GraphError) -> (graph: Graph, map: [ValueID?]) {
        var valueMap = [ValueID?](repeating: nil, count: values.count)
        var kept: [Value] = []
        for (i, v) in values.enumerated() where !droppedValues.contains(i) {
            valueMap[i] = ValueID(kept.count)
            kept.append(v)
        }
        var nodeMap = [Int?](repeating: nil, count: nodes.count)
        var keptNodes: [Node] = []
        for (k, node) in nodes.enumerated() where !droppedNodes.contains(k) {
            nodeMap[k] = keptNodes.count
            var node = node
            for (j, id) in node.inputs.enumerated() {
                guard let mapped = valueMap[id.index] else { throw GraphError("pass left node '\(node.name)' reading a dropped value") }
                node.inputs[j] = mapped
            }
            node.outputs = node.outputs.map { valueMap[$0.index]! }
            keptNodes.append(node)
        }
        for i in kept.indices where kept[i].producer != nil { kept[i].producer = nodeMap[kept[i].producer!]! }
        let graph = try Graph(values: kept, nodes: keptNodes, outputs: outputs.compactMap { valueMap[$0.index] })
        return (graph, valueMap)
    }
}
