import Testing
import LowLevel
@testable import Graph

/// Reverse mode beyond single ops: a parameter read by two nodes, a gradient seeded from outside
/// (a generator trained through a discriminator), and gradients of inputs.
@Suite struct ReverseModeTests {
    /// A tied weight: y = Σ tanh(x·W)·Wᵀ reads W twice; its gradient is the sum of both uses.
    @Test func sharedParameterGetsTheSumOfItsGradients() throws {
        let g = GraphBuilder()
        let x = g.input("x", shape: [4])
        let w = g.parameter("w", shape: [4, 3])
        let h = try g.tanh(try g.matmul(x, w))
        let back = try g.matmul(h, w, transposeB: true)
        let y = try g.sum(try g.mul(back, x), over: .all)
        let run = try makeExecutor(try g.build(), PlanOptions(.training, maxBatch: 3, seeds: [y], gradients: [x]))
        var random = SeededRandom(seed: 7)
        fill(run.view(of: x), &random)
        fill(run.view(of: w), &random)
        run.forward(training: true)
        run.zeroParameterGradients()
        run.backward(from: y)
        expectGradientsMatch(run, values: [w, x], analytic: { Array(run.gradient(of: $0)) }) {
            run.forward(training: true)
            return Double(run.view(of: y)[0])
        }
    }

    /// A backward replaces parameter gradients; with `accumulate` it adds to them (micro-batches):
    /// two calls give twice one, whichever op writes the gradient first.
    @Test func parameterGradientsAccumulateOnRequest() throws {
        let g = GraphBuilder()
        let x = g.input("x", shape: [2])
        let w = g.parameter("w", shape: [2, 2])
        let y = try g.sum(try g.square(try g.matmul(x, w)), over: .all)
        let run = try makeExecutor(try g.build(), PlanOptions(.training, maxBatch: 2, seeds: [y]))
        var random = SeededRandom(seed: 3)
        fill(run.view(of: x), &random)
        fill(run.view(of: w), &random)
        run.forward(training: true)
        run.backward(from: y)
        let once = Array(run.gradient(of: w))
        run.backward(from: y)
        #expect(Array(run.gradient(of: w)) == once)
        run.backward(from: y, accumulate: true)
        #expect(zip(run.gradient(of: w), once).allSatisfy { abs($0 - 2 * $1) <= 1e-6 * max(1, abs($1)) })
        run.zeroParameterGradients()
        #expect(run.gradient(of: w).allSatisfy { $0 == 0 })
    }

    /// Two executors: a generator G(z) = tanh(z·Wg) and a discriminator D(u) = Σ sigmoid(u·Wd).
    /// D's gradient with respect to its input seeds G's backward, which must give the gradient of
    /// D(G(z)) with respect to Wg (finite differences through both), with D's weights left alone.
    @Test func externalGradientTrainsAGeneratorThroughADiscriminator() throws {
        let gb = GraphBuilder()
        let z = gb.input("z", shape: [3])
        let wg = gb.parameter("wg", shape: [3, 4])
        let fake = try gb.tanh(try gb.matmul(z, wg), name: "fake")
        gb.output(fake)
        let generator = try makeExecutor(try gb.build(), PlanOptions(.training, maxBatch: 5, seeds: [fake]))

        let db = GraphBuilder()
        let u = db.input("u", shape: [4])
        let wd = db.parameter("wd", shape: [4, 2])
        let score = try db.sum(try db.sigmoid(try db.matmul(u, wd)), over: .all, name: "score")
        let discriminator = try makeExecutor(try db.build(), PlanOptions(.training, maxBatch: 5, seeds: [score], gradients: [u]))

        var random = SeededRandom(seed: 11)
        generator.rows = 4
        discriminator.rows = 4
        fill(generator.view(of: z), &random)
        fill(generator.view(of: wg), &random)
        fill(discriminator.view(of: wd), &random, -2, 2)
        let frozen = Array(discriminator.view(of: wd))

        func composite() -> Double {
            generator.forward(training: true)
            _ = discriminator.view(of: u).update(fromContentsOf: generator.view(of: fake))
            discriminator.forward(training: true)
            return Double(discriminator.view(of: score)[0])
        }
        _ = composite()
        discriminator.backward(from: score)
        generator.zeroParameterGradients()
        generator.backward(from: fake, gradient: UnsafePointer(discriminator.gradient(of: u).baseAddress!))
        #expect(Array(discriminator.view(of: wd)) == frozen)
        expectGradientsMatch(generator, values: [wg], analytic: { Array(generator.gradient(of: $0)) }, objective: composite)
    }

    /// Only what is asked for gets a gradient: a data input without a request has none, and a
    /// branch that does not reach the seed runs no backward.
    @Test func gradientsFlowOnlyWhereNeeded() throws {
        let g = GraphBuilder()
        let x = g.input("x", shape: [3])
        let w = g.parameter("w", shape: [3])
        let used = try g.sum(try g.mul(x, w), over: .all, name: "loss")
        let unused = try g.exp(try g.mul(x, w), name: "side")
        g.output(unused)
        let graph = try g.build()
        let plan = try MemoryPlan(graph: graph, options: PlanOptions(.training, maxBatch: 2, seeds: [used]))
        #expect(plan.gradients[x.index] == nil)
        #expect(plan.gradients[w.index] != nil)
        let sideNode = graph.values[unused.index].producer!
        #expect(!plan.runsBackward[sideNode])
        #expect(plan.runsBackward[graph.values[used.index].producer!])
    }
}

/// SGD during backward: a dense layer folds the update into its weight-gradient product, a
/// shared weight is updated once both gradients are in, and the result equals backward followed
/// by θ ← (1 − ηλ)θ − η·dL/dθ.
@Suite struct SGDDuringBackwardTests {
    static func graph() throws -> (Graph, x: ValueID, y: ValueID) {
        let g = GraphBuilder()
        let x = g.input("x", shape: [6])
        let h = try g.tanh(try g.dense(x, outputs: 5, name: "fc"))
        let shared = g.parameter("shared", shape: [5, 5])
        let y = try g.matmul(try g.tanh(try g.matmul(h, shared)), shared, transposeB: true)
        return (try g.build(), x, y)
    }

    @Test func equalsBackwardThenUpdate() throws {
        let (graph, x, y) = try Self.graph()
        let options = PlanOptions(.training, maxBatch: 4, seeds: [y])
        let fused = try makeExecutor(graph, options), plain = try makeExecutor(graph, options)
        var random = SeededRandom(seed: 4)
        for p in graph.parameters { fill(fused.view(of: p), &random); _ = plain.view(of: p).update(fromContentsOf: fused.view(of: p)) }
        fill(fused.view(of: x), &random)
        _ = plain.view(of: x).update(fromContentsOf: fused.view(of: x))
        let dy = (0..<4 * 5).map { _ in random.uniform(-1, 1) }
        let decays: (ValueID) -> Bool = { graph.values[$0.index].name != "fc.bias" }
        fused.setDecays(decays)
        for _ in 0..<3 {
            fused.forward(training: true)
            fused.backward(from: y, gradient: dy, sgd: 0.1, weightDecay: 0.05)
            plain.forward(training: true)
            plain.backward(from: y, gradient: dy)
            for p in graph.parameters {
                let w = plain.view(of: p), g = plain.gradient(of: p)
                Kernels.sgdUpdate(w.baseAddress!, gradient: g.baseAddress!, learningRate: 0.1, decay: decays(p) ? 0.05 : 0, count: w.count)
            }
        }
        for p in graph.parameters {
            for (a, b) in zip(fused.view(of: p), plain.view(of: p)) {
                #expect(abs(a - b) <= 1e-5 * max(1, abs(b)), "\(graph.values[p.index].name): \(a) vs \(b)")
            }
        }
    }
}
