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
    public static func encode(spec: NetworkSpec, tensors: [ModelTensor], description: Description) throws(ModelWriteError) -> [UInt8] {
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
        return try encode(network: network, description: description)
    }

    /// The file for a trained network, input shape from its spec. A softmax cross-entropy network
    /// yields probabilities; an MSE network yields values.
    public static func encode(network: Network, inputShape: (channels: Int, height: Int, width: Int),
                              inputEncoding: ModelFormat.InputEncoding) throws(ModelWriteError) -> [UInt8] {
        let kind: ModelFormat.OutputKind = network.spec.loss == .softmaxCrossEntropy ? .probabilities : .values
        return try encode(network: network, description: Description(inputShape: inputShape, outputKind: kind,
                                                                     inputEncoding: inputEncoding))
    }

    public static func encode(network: Network, description: Description) throws(ModelWriteError) -> [UInt8] {
        func fail(_ m: String) -> ModelWriteError { ModelWriteError(message: m) }
        let (c, h, w) = description.inputShape
        guard c * h * w == network.inputCount else {
            throw fail("input shape \(c)x\(h)x\(w) does not hold the network's \(network.inputCount) inputs")
        }
        var records: [[UInt32]] = []
        var tensors: [ModelTensor] = []
        func add(_ t: ModelTensor) -> UInt32 { tensors.append(t); return UInt32(tensors.count - 1) }
        func record(_ kind: UInt32, _ inputs: Int, _ outputs: Int, _ args: [UInt32]) -> [UInt32] {
            var r = [UInt32](repeating: 0, count: ModelFormat.layerRecordSize / 4)
            r[0] = kind; r[1] = UInt32(inputs); r[2] = UInt32(outputs)
            for (i, a) in args.enumerated() { r[3 + i] = a }
            return r
        }
        let spec = network.spec, shapes = spec.shapes!, names = network.networkGraph.layerNames
        /// Batch norm in evaluation as a per-channel y = scale·x + shift.
        func foldedAffine(_ name: String) -> (scale: [Float], shift: [Float]) {
            let gamma = network.tensor(named: "\(name).weight")!, beta = network.tensor(named: "\(name).bias")!
            let mean = network.tensor(named: "\(name).running_mean")!, variance = network.tensor(named: "\(name).running_var")!
            var scale = [Float](), shift = [Float]()
            for c in gamma.indices {
                let k = gamma[c] / (variance[c] + BatchNormalization.epsilon).squareRoot()
                scale.append(k)
                shift.append(beta[c] - mean[c] * k)
            }
            return (scale, shift)
        }
        func tensor(_ layer: Int, _ suffix: String) -> (name: String, shape: [Int], values: [Float]) {
            let name = "\(names[layer]!).\(suffix)"
            let id = network.networkGraph.graph.value(named: name)!
            return (name, network.networkGraph.graph.type(of: id).shape, Array(network.tensor(named: name)!))
        }
        var i = 0
        while i < spec.layers.count {
            let layer = spec.layers[i], input = shapes[i], output = shapes[i + 1]
            var fold: (scale: [Float], shift: [Float])? = nil
            if i + 1 < spec.layers.count, case .batchNorm = spec.layers[i + 1] { fold = foldedAffine(names[i + 1]!) }
            switch layer {
            case .dense:
                let (wName, wShape, wValues) = tensor(i, "weight"), (bName, bShape, bValues) = tensor(i, "bias")
                var weight = wValues, bias = bValues
                let outputs = output.count
                if let fold {
                    for row in 0..<input.count { for o in 0..<outputs { weight[row * outputs + o] *= fold.scale[o] } }
                    for o in 0..<outputs { bias[o] = bias[o] * fold.scale[o] + fold.shift[o] }
                    i += 1
                }
                let wi = add(ModelTensor(name: wName, shape: wShape, values: weight))
                let bi = add(ModelTensor(name: bName, shape: bShape, values: bias))
                records.append(record(ModelFormat.LayerKind.dense.rawValue, input.count, outputs, [wi, bi]))
            case .conv2d(let conv):
                let g = conv.geometry(input: input)!, k = g.patch
                let (wName, wShape, wValues) = tensor(i, "weight"), (bName, bShape, bValues) = tensor(i, "bias")
                var weight = wValues, bias = bValues
                if let fold {
                    for f in 0..<g.output.channels {
                        for j in 0..<k { weight[f * k + j] *= fold.scale[f] }
                        bias[f] = bias[f] * fold.scale[f] + fold.shift[f]
                    }
                    i += 1
                }
                let wi = add(ModelTensor(name: wName, shape: wShape, values: weight))
                let bi = add(ModelTensor(name: bName, shape: bShape, values: bias))
                records.append(record(ModelFormat.LayerKind.conv2d.rawValue, input.count, output.count,
                                      [wi, bi] + [g.input.channels, g.input.height, g.input.width, g.kernelHeight, g.kernelWidth,
                                                  g.strideY, g.strideX, g.padTop, g.padLeft, g.output.height, g.output.width].map { UInt32($0) }))
            case .maxPool2d(let pool), .avgPool2d(let pool):
                var kind = ModelFormat.LayerKind.averagePool
                if case .maxPool2d = layer { kind = .maxPool }
                records.append(record(kind.rawValue, input.count, output.count,
                                      [input.channels, input.height, input.width, pool.windowHeight,
                                       pool.windowWidth, pool.strideY, pool.strideX].map { UInt32($0) }))
            case .globalAvgPool:
                records.append(record(ModelFormat.LayerKind.averagePool.rawValue, input.count, output.count,
                                      [input.channels, input.height, input.width, input.height, input.width,
                                       input.height, input.width].map { UInt32($0) }))
            case .activation(let kind):
                records.append(record(ModelFormat.LayerKind.activation.rawValue, input.count, output.count,
                                      [ModelFormat.activationCode(kind)]))
            case .batchNorm:
                let (scale, shift) = foldedAffine(names[i]!)
                let si = add(ModelTensor(name: "\(names[i]!).scale", shape: [scale.count], values: scale))
                let hi = add(ModelTensor(name: "\(names[i]!).shift", shape: [shift.count], values: shift))
                records.append(record(ModelFormat.LayerKind.channelAffine.rawValue, input.count, output.count,
                                      [si, hi, UInt32(input.channels), UInt32(input.spatial)]))
            case .flatten, .dropout:
                break // identity in evaluation
            }
            i += 1
        }
        guard !records.isEmpty else { throw fail("the network has no layer that computes anything") }
        return try serialise(records: records, tensors: tensors, description: description, outputLength: network.outputCount)
    }
}
