import Graph
import ModelFile
import LowLevel

/// A `NetworkSpec` as a graph: the input, one node per layer, the output, and what `Network`
/// needs to find its tensors by layer.
public struct NetworkGraph: Sendable {
    public let graph: Graph
    /// The batch of samples (an external input: the caller's data is read where it is).
    public let input: ValueID
    /// The last layer's output, where backward starts from the loss's gradient.
    public let output: ValueID
    /// Dropout's generator state, when the network has dropout.
    public let generator: ValueID?
    /// Per spec layer: its name prefix ("dense0", "conv1", "batchnorm0") when it has tensors.
    public let layerNames: [String?]

    /// Builds the graph of a valid spec (`spec.problem == nil`), with the conv → ReLU → max-pool
    /// fusion applied. Parameters are named as in checkpoints: `dense0.weight`, `conv1.bias`,
    /// `batchnorm0.running_mean`, counted per kind.
    public init(_ spec: NetworkSpec) throws(GraphError) {
        guard spec.problem == nil, let shapes = spec.shapes else { throw GraphError(spec.problem ?? "invalid network") }
        let g = GraphBuilder()
        func shape(_ s: Shape3) -> [Int] { s.height == 1 && s.width == 1 ? [s.channels] : [s.channels, s.height, s.width] }
        let input = g.input("input", shape: shape(spec.inputShape))
        let generator = spec.layers.contains { if case .dropout = $0 { true } else { false } } ? g.generatorState("dropout.generator") : nil
        var x = input
        var counters: [String: Int] = [:]
        func name(_ kind: String) -> String {
            let index = counters[kind, default: 0]
            counters[kind] = index + 1
            return "\(kind)\(index)"
        }
        /// x as a vector [n] or an image [C, H, W], as the next layer needs.
        func asVector() throws(GraphError) -> ValueID { g.type(of: x).shape.count == 1 ? x : try g.flatten(x) }
        func asImage(_ s: Shape3) throws(GraphError) -> ValueID {
            g.type(of: x).shape.count == 3 ? x : try g.reshape(x, to: [s.channels, s.height, s.width])
        }
        var layerNames: [String?] = []
        for (index, layer) in spec.layers.enumerated() {
            let s = shapes[index]
            var layerName: String? = nil
            switch layer {
            case .dense(let outputs):
                layerName = name("dense")
                x = try g.dense(try asVector(), outputs: outputs, name: layerName!)
            case .activation(let kind):
                switch kind {
                case .relu: x = try g.relu(x)
                case .elu: x = try g.elu(x)
                case .sigmoid: x = try g.sigmoid(x)
                case .tanh: x = try g.tanh(x)
                }
            case .conv2d(let conv):
                layerName = name("conv")
                x = try g.conv2d(try asImage(s), conv, name: layerName!)
            case .maxPool2d(let pool):
                x = try g.maxPool2d(try asImage(s), pool)
            case .avgPool2d(let pool):
                x = try g.avgPool2d(try asImage(s), pool)
            case .globalAvgPool:
                x = try g.avgPool2d(try asImage(s), PoolSpec(window: (s.height, s.width)))
            case .flatten:
                x = try asVector()
            case .batchNorm:
                layerName = name("batchnorm")
                x = try g.batchNorm(x, name: layerName!)
            case .dropout(let rate):
                x = try g.dropout(x, rate: rate, generator: generator!)
            }
            layerNames.append(layerName)
        }
        g.output(x)
        let (graph, map) = try g.build().fusingConvReLUMaxPool()
        self.graph = graph
        self.input = map[input.index]!
        self.output = map[x.index]!
        self.generator = generator.map { map[$0.index]! }
        self.layerNames = layerNames
    }

    /// The training plan `Network` runs: backward from the output (seeded with the loss's
    /// gradient), the input external.
    public func trainingOptions(maxBatch: Int) -> PlanOptions {
        PlanOptions(.training, maxBatch: maxBatch, seeds: [output], external: [input])
    }
}
