import Arena
import Graph
import LowLevel

/// AdamW over every parameter of a graph executor, the moments in the executor's arena: global
/// gradient-norm clipping and the decoupled update, with weight decay on the parameters `decays`
/// chose. Shared by the GPT and the vision transformer trainers. Allocates nothing after `init`.
package final class GraphAdamW {
    let names: [String]
    let weights: [UnsafeMutablePointer<Float>]
    let gradients: [UnsafeMutablePointer<Float>]
    let firstMoments: [UnsafeMutablePointer<Float>]
    let secondMoments: [UnsafeMutablePointer<Float>]
    let counts: [Int]
    let decays: [Bool]

    /// Arena bytes of the moments of every parameter of `graph`.
    package static func stateBytes(_ graph: Graph) -> Int {
        graph.parameters.reduce(0) { $0 + 2 * ArenaAllocator.footprint(of: Float.self, count: graph.type(of: $1).elementsPerSample) }
    }

    /// - Parameter decays: whether a parameter (name, shape) takes weight decay.
    package init(_ executor: GraphExecutor, arena: ArenaAllocator, decays decides: (String, [Int]) -> Bool) throws(GraphError) {
        let graph = executor.graph
        var weights: [UnsafeMutablePointer<Float>] = [], gradients: [UnsafeMutablePointer<Float>] = []
        var first: [UnsafeMutablePointer<Float>] = [], second: [UnsafeMutablePointer<Float>] = [], counts: [Int] = [], decays: [Bool] = []
        for id in graph.parameters {
            let w = executor.view(of: id)
            weights.append(w.baseAddress!)
            gradients.append(executor.gradient(of: id).baseAddress!)
            do {
                first.append(try arena.allocateFloats(w.count).baseAddress!)
                second.append(try arena.allocateFloats(w.count).baseAddress!)
            } catch { throw GraphError("the arena was sized for the optimizer state: \(error)") }
            counts.append(w.count)
            decays.append(decides(graph.values[id.index].name, graph.type(of: id).shape))
        }
        names = graph.parameters.map { graph.values[$0.index].name }
        (self.weights, self.gradients, firstMoments, secondMoments, self.counts, self.decays) = (weights, gradients, first, second, counts, decays)
    }

    /// Scales every gradient so their global L2 norm is at most `limit` (0: no clipping).
    package func clipGradients(to limit: Float) {
        guard limit > 0 else { return }
        var squares: Float = 0
        for i in weights.indices { squares += Kernels.sumOfSquares(gradients[i], count: counts[i]) }
        let norm = squares.squareRoot()
        guard norm > limit else { return }
        let scale = limit / norm
        for i in weights.indices { Kernels.scale(gradients[i], by: scale, count: counts[i]) }
    }

    /// One AdamW update at `rate`, `step` being its 1-based count (for the bias correction).
    package func update(rate: Float, beta1: Float, beta2: Float, epsilon: Float, weightDecay: Float, step: Int) {
        for i in weights.indices {
            Kernels.adamWUpdate(weights[i], gradient: gradients[i], firstMoment: firstMoments[i], secondMoment: secondMoments[i],
                                learningRate: rate, beta1: beta1, beta2: beta2, epsilon: epsilon,
                                decay: decays[i] ? weightDecay : 0, step: step, count: counts[i])
        }
    }

    /// Each parameter and its moments ("adam.m.<name>", "adam.v.<name>"), for checkpoints.
    package var namedTensors: [(name: String, values: UnsafeMutableBufferPointer<Float>)] {
        var named: [(name: String, values: UnsafeMutableBufferPointer<Float>)] = []
        for i in weights.indices {
            named.append((names[i], UnsafeMutableBufferPointer(start: weights[i], count: counts[i])))
            named.append(("adam.m." + names[i], UnsafeMutableBufferPointer(start: firstMoments[i], count: counts[i])))
            named.append(("adam.v." + names[i], UnsafeMutableBufferPointer(start: secondMoments[i], count: counts[i])))
        }
        return named
    }
}
