import Graph
import LowLevel

/// PyTorch's default initialisation of `nn.Linear` and `nn.Conv2d`, for the generative models'
/// trainers: every weight and its bias uniform in ±1/√fan-in, where the fan-in is a dense weight
/// [in, out]'s first dimension and a convolution weight [F, C, kh, kw]'s C·kh·kw.
enum DefaultInitialisation {
    /// The fan-in of the weight `name`, or of the weight beside a bias `name.bias`.
    static func fanIn(_ name: String, in graph: Graph) -> Int {
        let weightName = name.hasSuffix(".bias") ? String(name.dropLast(5)) + ".weight" : name
        guard let shape = graph.values.first(where: { $0.name == weightName })?.type.shape else { return 1 }
        return shape.count == 4 ? shape.dropFirst().reduce(1, *) : shape.first ?? 1
    }

    /// Fills parameter `id` of `executor` uniformly in ±1/√fan-in from `random`.
    static func fill(_ id: ValueID, of executor: GraphExecutor, random: inout RandomGenerator) {
        let graph = executor.graph, w = executor.view(of: id)
        let bound = 1 / Float(fanIn(graph.values[id.index].name, in: graph)).squareRoot()
        for i in w.indices { w[i] = bound * (2 * random.nextUniform() - 1) }
    }
}
