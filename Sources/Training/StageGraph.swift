import Graph
import LowLevel
import ModelFile

/// A classic model's stages (`ModelStage`: standardisation, dense maps, kernels, votes, nearest
/// neighbours) as a graph over a flat input, with its parameter values: what the Swift models
/// export and what the C runtime runs. Parameters are named as version 1 names its tensors
/// ("stage1.points", "stage2.weight").
public struct StageGraph {
    public let graph: Graph
    public let values: TensorValues
    public let input: ValueID
    public let output: ValueID

    public init(stages: [ModelStage], inputs: Int) throws(ModelWriteError) {
        func fail(_ m: String) -> ModelWriteError { ModelWriteError(message: m) }
        let g = GraphBuilder()
        let input = g.input("input", shape: [inputs])
        var x = input, width = inputs
        var values: TensorValues = [:]
        func parameter(_ name: String, _ shape: [Int], _ contents: [Float]) -> ValueID {
            let id = g.parameter(name, shape: shape)
            values[id.index] = contents
            return id
        }
        do {
            for (i, stage) in stages.enumerated() {
                let name = "stage\(i)"
                if case .activation(let kind) = stage {
                    switch kind {
                    case .relu: x = try g.relu(x, name: name)
                    case .elu: x = try g.elu(x, name: name)
                    case .sigmoid: x = try g.sigmoid(x, name: name)
                    case .tanh: x = try g.tanh(x, name: name)
                    }
                    continue
                }
                guard let (n, m) = stage.lengths else { throw fail("stage \(i) is malformed: \(stage)") }
                guard n == width else { throw fail("stage \(i) takes \(n) inputs but receives \(width)") }
                switch stage {
                case .dense(let weight, let bias, _, _):
                    x = try g.apply(.dense, [x, parameter(name + ".weight", [n, m], weight), parameter(name + ".bias", [m], bias)],
                                    name: name)[0]
                case .affine(let scale, let shift):
                    x = try g.channelAffine(x, scale: parameter(name + ".scale", [n], scale), shift: parameter(name + ".shift", [n], shift),
                                            name: name)
                case .kernel(let kernel, let points, let count, let d):
                    x = try g.kernel(x, points: parameter(name + ".points", [count, d], points), kernel, name: name)
                case .pairwiseVote(let k):
                    x = try g.pairwiseVote(x, classes: k, name: name)
                case .nearestNeighbours(let points, let targets, let count, let d, let k, let metric, let mode):
                    x = try g.nearestNeighbours(x, points: parameter(name + ".points", [count, d], points),
                                                targets: parameter(name + ".targets", [count], targets), k: k, metric: metric,
                                                mode: mode, name: name)
                case .activation:
                    break
                }
                width = m
            }
            guard x != input else { throw fail("a model needs at least one stage") }
            g.output(x)
            graph = try g.build()
        } catch let error as GraphError {
            throw fail("cannot build the model's graph: \(error)")
        } catch let error as ModelWriteError { throw error } catch { throw fail("\(error)") }
        self.values = values
        self.input = input
        self.output = x
    }
}

extension ModelWriter {
    /// The file for a classic model's stages in format `version`: 2, their graph (`StageGraph`);
    /// 1, layer records. `description.inputShape` must hold the first stage's inputs.
    public static func encode(stages: [ModelStage], description: Description,
                              version: Int = Int(GraphFormat.version)) throws(ModelWriteError) -> [UInt8] {
        switch version {
        case 1: return try encodeLayers(stages: stages, description: description)
        case 2:
            let (c, h, w) = description.inputShape
            let stageGraph = try StageGraph(stages: stages, inputs: c * h * w)
            return try encodeGraph(stageGraph.graph, values: stageGraph.values, description: description)
        default: throw ModelWriteError(message: "format version \(version) does not exist; 1 and 2 do")
        }
    }
}
