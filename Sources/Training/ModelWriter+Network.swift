import Arena
import Graph
import LowLevel
import ModelFile

/// A trained network as a model file. Evaluation-mode semantics: dropout and flatten write
/// nothing, batch normalisation folds into the convolution or dense layer before it (or becomes a
/// per-channel affine layer when nothing precedes it to fold into).
extension ModelWriter {
    /// The file for `spec` with the given parameter values, named as a `Network` of that spec
    /// names them ("dense0.weight" [inputs, outputs], "conv0.weight" [F, C, a, b], ...).
    public static func encode(spec: NetworkSpec, tensors: [ModelTensor], description: Description,
                              version: Int = Int(GraphFormat.version)) throws(ModelWriteError) -> [UInt8] {
        func fail(_ m: String) -> ModelWriteError { ModelWriteError(message: m) }
        if let problem = spec.problem { throw fail(problem) }
        let network: Network
        do {
            let arena = try ArenaAllocator(capacity: spec.arenaBytes(maxBatch: 1))
            var rng = RandomGenerator(seed: 0)
            network = try Network(spec: spec, maxBatch: 1, arena: arena, rng: &rng)
        } catch { throw fail("cannot build the network: \(error)") }
        let byName = Dictionary(tensors.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
        for p in network.parameters {
            guard let t = byName[p.name] else { throw fail("missing tensor \(p.name)") }
            guard t.shape == p.shape, t.values.count == p.count else {
                throw fail("\(p.name) must have shape \(p.shape), not \(t.shape)")
            }
            _ = p.value.update(fromContentsOf: t.values)
        }
        return try encode(network: network, description: description, version: version)
    }

    /// The file for a trained network, input shape from its spec. A softmax cross-entropy network
    /// yields probabilities; an MSE network yields values.
    public static func encode(network: Network, inputShape: (channels: Int, height: Int, width: Int),
                              inputEncoding: ModelFormat.InputEncoding, version: Int = Int(GraphFormat.version)) throws(ModelWriteError) -> [UInt8] {
        let kind: ModelFormat.OutputKind = network.spec.loss == .softmaxCrossEntropy ? .probabilities : .values
        return try encode(network: network, description: Description(inputShape: inputShape, outputKind: kind,
                                                                     inputEncoding: inputEncoding), version: version)
    }

    /// The file for a trained network in format `version` (1, a layer list; 2, the inference graph).
    public static func encode(network: Network, description: Description, version: Int = Int(GraphFormat.version)) throws(ModelWriteError) -> [UInt8] {
        guard version == 1 || version == 2 else { throw ModelWriteError(message: "format version \(version) does not exist; 1 and 2 do") }
        let (c, h, w) = description.inputShape
        guard c * h * w == network.inputCount else {
            throw ModelWriteError(message: "input shape \(c)x\(h)x\(w) does not hold the network's \(network.inputCount) inputs")
        }
        let graph = network.networkGraph.graph
        var values: TensorValues = [:]
        for id in graph.parameters + graph.values(.state) where graph.type(of: id).element == .float32 {
            values[id.index] = Array(network.executor.view(of: id))
        }
        do {
            let (inference, map) = try graph.forInference(values: &values)
            var moved: TensorValues = [:]
            for (old, v) in values { if let id = map[old] { moved[id.index] = v } }
            return version == 2 ? try encodeGraph(inference, values: moved, description: description)
                                : try encode(graph: inference, values: moved, description: description)
        } catch let error as GraphError {
            throw ModelWriteError(message: "cannot prepare the network for inference: \(error)")
        } catch let error as ModelWriteError { throw error } catch { throw ModelWriteError(message: "\(error)") }
    }

    /// A version-1 file for an inference graph whose nodes are ops version 1 has (dense, the four
    /// activations, conv2d, max and average pooling, batch norm as a channel affine; reshape and
    /// dropout write nothing), one layer record per node in order. `values` holds the parameters
    /// and state by value index.
    public static func encode(graph: Graph, values: TensorValues, description: Description) throws(ModelWriteError) -> [UInt8] {
        func fail(_ m: String) -> ModelWriteError { ModelWriteError(message: m) }
        var records: [[UInt32]] = []
        var tensors: [ModelTensor] = []
        func record(_ kind: ModelFormat.LayerKind, _ inputs: Int, _ outputs: Int, _ args: [Int]) {
            var r = [UInt32](repeating: 0, count: ModelFormat.layerRecordSize / 4)
            r[0] = kind.rawValue; r[1] = UInt32(inputs); r[2] = UInt32(outputs)
            for (i, a) in args.enumerated() { r[3 + i] = UInt32(a) }
            records.append(r)
        }
        func tensor(_ id: ValueID, name: String? = nil, _ contents: [Float]? = nil) throws(ModelWriteError) -> Int {
            guard let data = contents ?? values[id.index] else { throw fail("no values for '\(graph.values[id.index].name)'") }
            let shape = contents == nil ? graph.type(of: id).shape : [data.count]
            tensors.append(ModelTensor(name: name ?? graph.values[id.index].name, shape: shape, values: data))
            return tensors.count - 1
        }
        for node in graph.nodes {
            let x = graph.type(of: node.inputs.first ?? node.outputs[0]), y = graph.type(of: node.outputs[0])
            let inputs = x.elementsPerSample, outputs = y.elementsPerSample
            switch node.op {
            case .dense:
                record(.dense, inputs, outputs, [try tensor(node.inputs[1]), try tensor(node.inputs[2])])
            case .relu, .elu, .sigmoid, .tanh:
                let kind: ActivationKind = node.op == .relu ? .relu : node.op == .elu ? .elu : node.op == .sigmoid ? .sigmoid : .tanh
                record(.activation, inputs, outputs, [Int(ModelFormat.activationCode(kind))])
            case .conv2d:
                let w = graph.type(of: node.inputs[1]).shape, g = node.attributes.ints("geometry")
                record(.conv2d, inputs, outputs, [try tensor(node.inputs[1]), try tensor(node.inputs[2]), x.shape[0], x.shape[1], x.shape[2],
                                                  w[2], w[3], g[0], g[1], g[2], g[3], g[4], g[5]])
                if node.attributes.int("relu") != 0 { record(.activation, outputs, outputs, [Int(ModelFormat.activationCode(.relu))]) }
            case .maxPool2d, .avgPool2d:
                let window = node.attributes.ints("window")
                record(node.op == .maxPool2d ? .maxPool : .averagePool, inputs, outputs, [x.shape[0], x.shape[1], x.shape[2]] + window)
            case .batchNorm:
                guard let gamma = values[node.inputs[1].index], let beta = values[node.inputs[2].index],
                      let mean = values[node.inputs[3].index], let variance = values[node.inputs[4].index] else {
                    throw fail("no values for batch norm '\(node.name)'")
                }
                let (scale, shift) = BatchNormalization.affine(gamma: gamma, beta: beta, mean: mean, variance: variance)
                let si = try tensor(node.inputs[1], name: "\(node.name).scale", scale)
                let hi = try tensor(node.inputs[2], name: "\(node.name).shift", shift)
                record(.channelAffine, inputs, outputs, [si, hi, gamma.count, inputs / gamma.count])
            case .reshape, .dropout:
                continue // the identity in evaluation
            default:
                throw fail("node '\(node.name)' (\(node.op.rawValue)) has no version-1 layer")
            }
        }
        guard !records.isEmpty else { throw fail("the network has no layer that computes anything") }
        let output = graph.outputs.first.map { graph.type(of: $0).elementsPerSample } ?? 0
        return try serialise(records: records, tensors: tensors, description: description, outputLength: output)
    }
}
