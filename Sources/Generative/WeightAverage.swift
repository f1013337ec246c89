import Arena
import Graph

/// An exponential moving average of a graph's parameters (the GAN's generator, the diffusion
/// model's U-Net), kept in the trainer's arena: after update t (from 1) each average moves toward
/// its parameter by 1 − min(decay, (1 + t)/(10 + t)), DDPM's warm-up. With decay 0 it holds
/// nothing and costs nothing.
struct WeightAverage {
    /// The parameters' views in the executor, and their averages (both empty with decay 0).
    let live: [UnsafeMutableBufferPointer<Float>]
    let averaged: [UnsafeMutableBufferPointer<Float>]
    let decay: Float

    /// Arena bytes the averages of `graph`'s parameters take.
    static func arenaBytes(_ graph: Graph, decay: Float) -> Int {
        guard decay > 0 else { return 0 }
        return graph.parameters.reduce(0) { $0 + ArenaAllocator.footprint(of: Float.self, count: graph.type(of: $1).elementsPerSample) }
    }

    /// Averages starting at the parameters' present values. `what` names them in the error.
    init(_ graph: Graph, executor: GraphExecutor, arena: ArenaAllocator, decay: Float, what: String) throws(GraphError) {
        self.decay = decay
        live = decay > 0 ? graph.parameters.map { executor.view(of: $0) } : []
        let live = live
        do {
            averaged = try live.map { w in
                let a = try arena.allocateFloats(w.count)
                _ = a.initialize(from: w)
                return a
            }
        } catch { throw GraphError("the arena was sized for the averaged \(what): \(error)") }
    }

    /// Moves the averages toward the parameters after update `step` (from 1).
    func update(step: Int) {
        guard !averaged.isEmpty else { return }
        let t = Float(step - 1), keep = 1 - min(decay, (1 + t) / (10 + t))
        for (w, a) in zip(live, averaged) {
            for i in a.indices { a[i] += keep * (w[i] - a[i]) }
        }
    }

    /// The averages named "average.<parameter>", for checkpoints.
    func named(_ graph: Graph) -> [(name: String, values: UnsafeMutableBufferPointer<Float>)] {
        zip(graph.parameters, averaged).map { ("average." + graph.values[$0.index].name, $1) }
    }
}
