import Graph
import LowLevel
import ModelFile

/// Inference graphs as version-2 model files: the nodes as they are, the weights in the file, and
/// the memory plan the graph's own planner makes for one sample.
extension ModelWriter {
    /// The version-2 file for an inference graph (after `Graph.forInference`) with one float input
    /// and one output. `values` holds the parameters and state by value index. Ops: dense, the
    /// four activations, conv2d (with its fused ReLU), max and average pooling, channel affine,
    /// batch norm (written as a channel affine from its running statistics), reshape, and add
    /// of two values of one shape.
    public static func encodeGraph(_ graph: Graph, values: TensorValues, description: Description) throws(ModelWriteError) -> [UInt8] {
        try serialise(graph: graphFile(graph, values: values), description: description)
    }

    /// `graph` (a model's inference form, before the passes) with its parameters and state filled
    /// from `weights` by name, each of its value's size, then through `Graph.forInference`: the
    /// folded graph, its values, and where each old value went. `what` names the model in messages.
    public static func inferenceGraph(_ graph: Graph, weights: [String: [Float]],
                                      what: String) throws(ModelWriteError) -> (graph: Graph, values: TensorValues, map: [ValueID?]) {
        var values: TensorValues = [:]
        for id in graph.parameters + graph.values(.state) {
            let name = graph.values[id.index].name
            guard let w = weights[name], w.count == graph.type(of: id).elementsPerSample else {
                throw ModelWriteError(message: "no weights of the right size for \(name)")
            }
            values[id.index] = w
        }
        let folded: (graph: Graph, map: [ValueID?])
        do { folded = try graph.forInference(values: &values) } catch {
            throw ModelWriteError(message: "cannot prepare \(what)'s graph for inference: \(error)")
        }
        var moved: TensorValues = [:]
        for (old, v) in values { if let id = folded.map[old] { moved[id.index] = v } }
        return (folded.graph, moved, folded.map)
    }

    /// The graph as the records `serialise(graph:description:)` writes. With `density`, the graph
    /// also holds a model's exact density (a flow's): a second input and output, whose nodes all
    /// come after the main output's (docs/FORMAT.md, "The density entry"); the file names them
    /// `density.input` and `density.nll`. With `time`, a diffusion model's second input (the
    /// timestep's embedding), named `diffusion.time` (docs/FORMAT.md, "Diffusion models").
    public static func graphFile(_ graph: Graph, values: TensorValues, density: (input: ValueID, nll: ValueID)? = nil,
                                 time: ValueID? = nil) throws(ModelWriteError) -> GraphFile {
        func fail(_ m: String) -> ModelWriteError { ModelWriteError(message: m) }
        let inputs = 1 + (density == nil ? 0 : 1) + (time == nil ? 0 : 1), outputs = density == nil ? 1 : 2
        guard graph.inputs.count == inputs, graph.outputs.count == outputs else {
            throw fail("a model file holds a graph with \(inputs) input(s) and \(outputs) output(s); this one has \(graph.inputs.count) and \(graph.outputs.count)")
        }
        let input = graph.inputs.first { $0 != density?.input && $0 != time }!, output = graph.outputs.first { $0 != density?.nll }!
        if let density, !(graph.inputs.contains(density.input) && graph.outputs.contains(density.nll)) {
            throw fail("the density's input and output must be the graph's")
        }
        if let time, !graph.inputs.contains(time) { throw fail("the diffusion's time input must be one of the graph's") }
        // The input keeps its bytes for the whole pass (a prepared PNG is written there).
        let plan: MemoryPlan
        do {
            plan = try MemoryPlan(graph: graph, options: PlanOptions(.inference, maxBatch: 1,
                                                                      external: graph.parameters + graph.values(.state),
                                                                      opBuffers: false))
        } catch { throw fail("cannot plan the graph: \(error)") }
        var file = GraphFile()
        var index = [Int?](repeating: nil, count: graph.values.count)
        func valueName(_ id: ValueID) -> String { graph.values[id.index].name }
        file.values.append(GraphFile.Value(name: valueName(input), element: graph.type(of: input).element == .int32 ? .int32 : .float32,
                                           role: .input, shape: graph.type(of: input).shape, arenaOffset: plan.values[input.index].offset))
        index[input.index] = 0
        if let density {
            let type = graph.type(of: density.input)
            guard type.element == .float32, type.shape == graph.type(of: input).shape else {
                throw fail("the density's input must be floats of the main input's shape")
            }
            file.values.append(GraphFile.Value(name: GraphFormat.densityInputName.description, role: .input, shape: type.shape,
                                               arenaOffset: plan.values[density.input.index].offset))
            index[density.input.index] = 1
        }
        if let time {
            let type = graph.type(of: time)
            guard type.element == .float32 else { throw fail("the diffusion's time input must be floats") }
            file.values.append(GraphFile.Value(name: GraphFormat.diffusionTimeName.description, role: .input, shape: type.shape,
                                               arenaOffset: plan.values[time.index].offset))
            index[time.index] = file.values.count - 1
        }
        func parameter(_ id: ValueID, name: String? = nil, _ contents: [Float]? = nil) throws(ModelWriteError) -> Int {
            if contents == nil, let i = index[id.index] { return i }
            guard let data = contents ?? values[id.index] else { throw fail("no values for '\(name ?? valueName(id))'") }
            let shape = contents == nil ? graph.type(of: id).shape : [data.count]
            let i = file.parameter(ModelTensor(name: name ?? valueName(id), shape: shape.isEmpty ? [1] : shape, values: data))
            if contents == nil { index[id.index] = i }
            return i
        }
        func read(_ id: ValueID) throws(ModelWriteError) -> Int {
            if let i = index[id.index] { return i }
            let role = graph.values[id.index].role
            guard role == .parameter || role == .state else { throw fail("'\(valueName(id))' is read before it is computed") }
            return try parameter(id)
        }
        for node in graph.nodes {
            // Nodes without inputs are constants: their values go in the file as parameters.
            if node.op == .constant || node.op == .sinusoidalPositions {
                let y = node.outputs[0], type = graph.type(of: y)
                var table = [Float](repeating: node.attributes.float("value"), count: type.elementsPerSample)
                if node.op == .sinusoidalPositions {
                    table.withUnsafeMutableBufferPointer {
                        Kernels.sinusoidalPositions(positions: type.shape[0], width: type.shape[1], into: $0.baseAddress!)
                    }
                }
                let i = file.parameter(ModelTensor(name: valueName(y).isEmpty ? node.name : valueName(y),
                                                   shape: type.shape.isEmpty ? [1] : type.shape, values: table))
                file.values[i].shape = type.shape
                index[y.index] = i
                continue
            }
            let op: GraphFormat.Op
            let inputs: [Int]
            var arguments: [(name: String, value: GraphFile.Argument)] = []
            switch node.op {
            case .dense:
                op = .dense
                inputs = [try read(node.inputs[0]), try read(node.inputs[1]), try read(node.inputs[2])]
            case .relu, .elu, .sigmoid, .tanh:
                op = GraphFormat.Op(name: node.op.rawValue)!
                inputs = [try read(node.inputs[0])]
            case .conv2d:
                op = .conv2d
                inputs = [try read(node.inputs[0]), try read(node.inputs[1]), try read(node.inputs[2])]
                arguments = [("geometry", .ints(node.attributes.ints("geometry")))]
                if node.attributes.int("relu") != 0 { arguments.append(("relu", .ints([1]))) }
            case .maxPool2d, .avgPool2d:
                op = node.op == .maxPool2d ? .maxPool2d : .avgPool2d
                inputs = [try read(node.inputs[0])]
                arguments = [("window", .ints(node.attributes.ints("window")))]
            case .channelAffine:
                op = .channelAffine
                inputs = [try read(node.inputs[0]), try read(node.inputs[1]), try read(node.inputs[2])]
            case .batchNorm:
                guard let gamma = values[node.inputs[1].index], let beta = values[node.inputs[2].index],
                      let mean = values[node.inputs[3].index], let variance = values[node.inputs[4].index] else {
                    throw fail("no values for batch norm '\(node.name)'")
                }
                let (scale, shift) = BatchNormalization.affine(gamma: gamma, beta: beta, mean: mean, variance: variance)
                op = .channelAffine
                inputs = [try read(node.inputs[0]), try parameter(node.inputs[1], name: "\(node.name).scale", scale),
                          try parameter(node.inputs[2], name: "\(node.name).shift", shift)]
            case .reshape:
                op = .reshape
                inputs = [try read(node.inputs[0])]
            case .add where node.inputs.count == 2 && (graph.type(of: node.inputs[0]) == graph.type(of: node.inputs[1])
                                                       || isRow(graph.type(of: node.inputs[1]), of: graph.type(of: node.inputs[0]))
                                                       || graph.type(of: node.inputs[0]).shape == graph.type(of: node.inputs[1]).shape):
                op = .add
                inputs = [try read(node.inputs[0]), try read(node.inputs[1])]
            case .embedding:
                op = .embedding
                inputs = [try read(node.inputs[0]), try read(node.inputs[1])]
            case .layerNorm:
                op = .layerNorm
                inputs = [try read(node.inputs[0]), try read(node.inputs[1]), try read(node.inputs[2])]
                arguments = [("epsilon", .floats([1e-5]))]
            case .matmul where !graph.type(of: node.inputs[1]).isBatched:
                op = .matmul
                inputs = [try read(node.inputs[0]), try read(node.inputs[1])]
                arguments = [("transposeB", .ints([node.attributes.int("transposeB")]))]
            case .transpose:
                op = .transpose
                inputs = [try read(node.inputs[0])]
            case .slice:
                op = .slice
                inputs = [try read(node.inputs[0])]
                arguments = [("columns", .ints([node.attributes.int("start"), node.attributes.int("count")]))]
            case .attention:
                op = .attention
                inputs = [try read(node.inputs[0]), try read(node.inputs[1]), try read(node.inputs[2])]
                arguments = [("heads", .ints([node.attributes.int("heads")])), ("causal", .ints([node.attributes.int("causal")]))]
            case .gelu, .exp, .neg, .log, .square:
                op = GraphFormat.Op(name: node.op.rawValue)!
                inputs = [try read(node.inputs[0])]
            case .mul where broadcasts(graph, node), .sub where broadcasts(graph, node):
                op = node.op == .mul ? .mul : .sub
                inputs = [try read(node.inputs[0]), try read(node.inputs[1])]
            case .add where broadcasts(graph, node):
                op = .add
                inputs = [try read(node.inputs[0]), try read(node.inputs[1])]
            case .concat, .addPerChannel:
                op = node.op == .concat ? .concat : .addPerChannel
                inputs = [try read(node.inputs[0]), try read(node.inputs[1])]
            case .upsample2d:
                op = .upsample2d
                inputs = [try read(node.inputs[0])]
                arguments = [("factor", .ints([node.attributes.int("factor")]))]
            case .sum where graph.type(of: node.outputs[0]).elementsPerSample == 1:
                op = .sum
                inputs = [try read(node.inputs[0])]
            case .kernel:
                op = .kernel
                inputs = [try read(node.inputs[0]), try read(node.inputs[1])]
                arguments = [("kernel", .ints(node.attributes.ints("kernel"))), ("sigma", .floats([node.attributes.float("sigma")]))]
            case .pairwiseVote:
                op = .pairwiseVote
                inputs = [try read(node.inputs[0])]
                arguments = [("classes", .ints([node.attributes.int("classes")]))]
            case .nearestNeighbours:
                op = .nearestNeighbours
                inputs = [try read(node.inputs[0]), try read(node.inputs[1]), try read(node.inputs[2])]
                let a = node.attributes
                arguments = [("k", .ints([a.int("k")])), ("metric", .ints([a.int("metric")])), ("mode", .ints([a.int("mode")]))]
                switch a.int("mode") {
                case 1: arguments.append(("classes", .ints([a.int("classes")])))
                case 3: arguments += [("kernel", .ints(a.ints("kernel"))), ("sigma", .floats([a.float("sigma")]))]
                case 4: arguments.append(("bandwidth", .floats([a.float("bandwidth")])))
                default: break
                }
            default:
                let detail = [.add, .mul, .sub].contains(node.op) ? " with this broadcasting" : node.op == .sum ? " over part of a sample" : node.op == .matmul ? " of two computed values" : ""
                throw fail("node '\(node.name)' (\(node.op.rawValue)\(detail)) has no version-2 op yet")
            }
            let y = node.outputs[0]
            var valueName = graph.values[y.index].name.isEmpty ? node.name : graph.values[y.index].name
            if y == density?.nll { valueName = GraphFormat.densityOutputName.description }
            file.values.append(GraphFile.Value(name: valueName, role: .activation, shape: graph.type(of: y).shape,
                                               producer: file.nodes.count, arenaOffset: plan.values[y.index].offset))
            index[y.index] = file.values.count - 1
            file.nodes.append(GraphFile.Node(name: node.name, op: op, inputs: inputs, outputs: [file.values.count - 1],
                                             arguments: arguments))
        }
        guard let out = index[output.index], file.values[out].role == .activation else {
            throw fail("the graph's output is not computed by a node")
        }
        if let density {
            guard let nll = index[density.nll.index], file.values[nll].role == .activation, graph.type(of: density.nll).elementsPerSample == 1,
                  let first = file.values[nll].producer, let last = file.values[out].producer, last < first else {
                throw fail("the density's output must be one computed value, after the main output")
            }
            // The density's nodes follow the main output's: none may be needed by the main output.
            for node in file.nodes[...last] where node.inputs.contains(1) {
                throw fail("node '\(node.name)' reads the density's input but is needed for the main output")
            }
        }
        file.input = 0
        file.output = out
        file.planBytes = plan.totalBytes
        return file
    }

    /// Whether each input of a two-input element-wise node has the output's length, is one
    /// element, or is one row of the output's last dimension: the broadcasting the runtime does.
    private static func broadcasts(_ graph: Graph, _ node: Node) -> Bool {
        let y = graph.type(of: node.outputs[0])
        return node.inputs.count == 2 && node.inputs.allSatisfy { id in
            let x = graph.type(of: id)
            return x.elementsPerSample == y.elementsPerSample || x.elementsPerSample == 1 || isRow(x, of: y)
        }
    }

    /// Whether `b` is one unbatched row that broadcasts over `a`'s last dimension (a bias).
    private static func isRow(_ b: TensorType, of a: TensorType) -> Bool {
        !b.isBatched && b.shape.count == 1 && b.shape.first == a.shape.last
    }
}
