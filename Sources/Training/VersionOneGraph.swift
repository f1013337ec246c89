import Graph
import LowLevel
import ModelFile

/// A version-1 model file's layer list as a linear graph, with its weights left in the file: what
/// the runtime runs (and what `export-tool inspect` plans for a version-1 file), every layer kind
/// included.
public struct VersionOneGraph {
    public let graph: Graph
    public let input: ValueID
    public let output: ValueID
    /// Each parameter value and the index of the file tensor that holds it.
    public let weights: [(value: ValueID, tensor: Int)]

    public init(_ file: ModelFile) throws(GraphError) {
        guard file.version == 1 else { throw GraphError("this is a version-\(file.version) file, not a layer list") }
        let g = GraphBuilder()
        let (c, h, w) = (file.inputChannels, file.inputHeight, file.inputWidth)
        let input = g.input("input", shape: h == 1 && w == 1 ? [c] : [c, h, w])
        var x = input
        var weights: [(ValueID, Int)] = []
        func tensor(_ index: Int) -> ValueID {
            let t = file.tensor(index)
            let dims = [t.shape.0, t.shape.1, t.shape.2, t.shape.3].prefix(t.rank)
            let id = g.parameter(String(cString: file.tensorName(index)), shape: Array(dims))
            weights.append((id, index))
            return id
        }
        func shaped(_ shape: [Int]) throws(GraphError) -> ValueID {
            g.type(of: x).shape == shape ? x : try g.reshape(x, to: shape)
        }
        for i in 0..<file.layerCount {
            let layer = file.layer(i)
            switch layer.kind {
            case .dense:
                let readsData = x == input
                x = try g.apply(.dense, [try shaped([layer.inputs]), tensor(Int(layer.arg0)), tensor(Int(layer.arg1))],
                                attributes: readsData ? Attributes(["sparseInput": .int(1)]) : Attributes(), name: "layer\(i)")[0]
            case .activation:
                switch ModelFormat.activation(code: layer.arg0)! {
                case .relu: x = try g.relu(x, name: "layer\(i)")
                case .elu: x = try g.elu(x, name: "layer\(i)")
                case .sigmoid: x = try g.sigmoid(x, name: "layer\(i)")
                case .tanh: x = try g.tanh(x, name: "layer\(i)")
                }
            case .conv2d:
                let geometry = [layer.arg(7), layer.arg(8), layer.arg(9), layer.arg(10), layer.arg(11), layer.arg(12)]
                x = try g.apply(.conv2d, [try shaped([layer.arg(2), layer.arg(3), layer.arg(4)]), tensor(layer.arg(0)), tensor(layer.arg(1))],
                                attributes: Attributes(["geometry": .ints(geometry)]), name: "layer\(i)")[0]
            case .maxPool, .averagePool:
                let window = PoolSpec(window: (layer.arg(3), layer.arg(4)), stride: (layer.arg(5), layer.arg(6)))
                let image = try shaped([layer.arg(0), layer.arg(1), layer.arg(2)])
                x = layer.kind == .maxPool ? try g.maxPool2d(image, window, name: "layer\(i)") : try g.avgPool2d(image, window, name: "layer\(i)")
            case .channelAffine:
                let planes = try shaped(layer.arg(3) == 1 ? [layer.arg(2)] : [layer.arg(2), layer.arg(3)])
                x = try g.channelAffine(planes, scale: tensor(layer.arg(0)), shift: tensor(layer.arg(1)), name: "layer\(i)")
            case .kernel:
                let kernel = KernelFunction(code: UInt32(layer.arg(1)), degree: UInt32(layer.arg(2)),
                                            sigma: Float(bitPattern: UInt32(layer.arg(3))))!
                x = try g.kernel(try shaped([layer.inputs]), points: tensor(layer.arg(0)), kernel, name: "layer\(i)")
            case .pairwiseVote:
                x = try g.pairwiseVote(try shaped([layer.inputs]), classes: layer.arg(0), name: "layer\(i)")
            case .nearestNeighbours:
                let mode: NeighbourMode
                switch ModelFormat.NeighbourModeCode(rawValue: UInt32(layer.arg(4)))! {
                case .classify: mode = .classify(classes: layer.arg(5))
                case .regress: mode = .regress
                case .kernelSmoothing:
                    mode = .kernelSmoothing(KernelFunction(code: UInt32(layer.arg(6)), degree: UInt32(layer.arg(7)),
                                                           sigma: Float(bitPattern: UInt32(layer.arg(8))))!)
                case .localLinear: mode = .localLinear(sigma: Float(bitPattern: UInt32(layer.arg(9))))
                }
                x = try g.nearestNeighbours(try shaped([layer.inputs]), points: tensor(layer.arg(0)), targets: tensor(layer.arg(1)),
                                            k: layer.arg(2), metric: DistanceMetric(code: UInt32(layer.arg(3)))!, mode: mode,
                                            name: "layer\(i)")
            }
        }
        x = try shaped([file.outputLength])
        g.output(x)
        let (fused, map) = try g.build().fusingConvReLUMaxPool()
        graph = fused
        self.input = map[input.index]!
        self.output = map[x.index]!
        self.weights = weights.map { (map[$0.0.index]!, $0.1) }
    }

    /// Inference for up to `maxBatch` samples with the weights and the input read in place.
    public func inferenceOptions(maxBatch: Int) -> PlanOptions {
        PlanOptions(.inference, maxBatch: maxBatch, external: [input] + weights.map(\.value))
    }
}
