import Testing
import Arena
import LowLevel
import MallocCounter
@testable import Graph

/// The planner: buffers that are live at the same step never share bytes, the arena's
/// high-water mark equals the plan, and inference reuses memory.
@Suite(.serialized) struct MemoryPlanTests {
    init() { BLAS.configure(threads: 1) }

    /// An MLP 784-h…-10 with a softmax cross-entropy loss averaged over the batch.
    static func mlp(hidden: [Int]) throws -> (graph: Graph, x: ValueID, labels: ValueID, logits: ValueID, loss: ValueID) {
        let g = GraphBuilder()
        let x = g.input("x", shape: [784])
        let labels = g.input("labels", shape: [], element: .int32)
        var h = x
        for (i, units) in (hidden + [10]).enumerated() {
            h = try g.scope("dense\(i)") {
                let inputs = g.type(of: h).shape[0]
                let w = g.parameter("weight", shape: [inputs, units]), b = g.parameter("bias", shape: [units])
                return try g.add(try g.matmul(h, w, name: "product"), b, name: "output")
            }
            if i < hidden.count { h = try g.relu(h, name: "relu\(i)") }
        }
        let loss = try g.mean(try g.softmaxCrossEntropy(logits: h, labels: labels), over: .all, name: "loss")
        g.output(h)
        return (try g.build(), x, labels, h, loss)
    }

    static func expectNoOverlaps(_ plan: MemoryPlan, sourceLocation: SourceLocation = #_sourceLocation) {
        let slots = plan.allSlots.filter { $0.bytes > 0 }
        for s in slots { #expect(s.offset % 64 == 0 && s.offset + s.bytes <= plan.totalBytes, sourceLocation: sourceLocation) }
        for (i, a) in slots.enumerated() {
            for b in slots[(i + 1)...] where a.first <= b.last && b.first <= a.last {
                #expect(a.offset + a.bytes <= b.offset || b.offset + b.bytes <= a.offset,
                        "slots live together overlap: \(a) and \(b)", sourceLocation: sourceLocation)
            }
        }
    }

    @Test(arguments: [PlanOptions.Mode.training, .inference])
    func liveBuffersNeverShareBytes(mode: PlanOptions.Mode) throws {
        let m = try Self.mlp(hidden: [256, 128, 64])
        let plan = try MemoryPlan(graph: m.graph, options: PlanOptions(mode, maxBatch: 32, seeds: mode == .training ? [m.loss] : []))
        Self.expectNoOverlaps(plan)
        let parameterBytes = m.graph.parameters.map { (4 * m.graph.type(of: $0).elementsPerSample + 63) / 64 * 64 }.reduce(0, +)
        #expect(plan.bytes(.weights) == parameterBytes)
        #expect(plan.bytes(.gradients) == (mode == .training ? plan.bytes(.weights) : 0))
    }

    /// Inference keeps only what is still to be read: a deep chain needs far less activation
    /// memory than one buffer per value, and training keeps more than inference.
    @Test func inferenceSharesMemory() throws {
        let m = try Self.mlp(hidden: [512, 512, 512, 512])
        let inference = try MemoryPlan(graph: m.graph, options: PlanOptions(.inference, maxBatch: 64))
        let training = try MemoryPlan(graph: m.graph, options: PlanOptions(.training, maxBatch: 64, seeds: [m.loss]))
        let weights = inference.bytes(.weights)
        let activationsUsed = inference.totalBytes - weights
        // The input, the logits and the two widest adjacent buffers (64 × 512 floats each).
        #expect(activationsUsed <= 64 * 784 * 4 + 64 * 10 * 4 + 64 + 2 * 64 * 512 * 4 + 64 * 64)
        let onePerValue = m.graph.values.filter { $0.role != .parameter }.reduce(0) { $0 + ($1.type.bytes(rows: 64) + 63) / 64 * 64 }
        #expect(activationsUsed < onePerValue / 3)
        #expect(training.totalBytes > inference.totalBytes + weights)
    }

    /// The executor takes exactly the planned bytes, and its passes take nothing more.
    @Test(arguments: [PlanOptions.Mode.training, .inference])
    func arenaHighWaterMarkEqualsThePlan(mode: PlanOptions.Mode) throws {
        let m = try Self.mlp(hidden: [128])
        let options = PlanOptions(mode, maxBatch: 16, seeds: mode == .training ? [m.loss] : [])
        let arena = try ArenaAllocator(capacity: 1 << 24)
        let run = try GraphExecutor(graph: m.graph, options: options, arena: arena)
        run.rows = 16
        run.forward(training: true)
        if mode == .training { run.backward(from: m.loss) }
        #expect(arena.highWaterMark == run.plan.totalBytes)
        #expect(try GraphExecutor.arenaBytes(graph: m.graph, options: options) == run.plan.totalBytes)
        // And an arena one cache line short is refused with a message, not overrun.
        let short = try ArenaAllocator(capacity: run.plan.totalBytes - 64)
        #expect(throws: GraphError.self) { try GraphExecutor(graph: m.graph, options: options, arena: short) }
    }

    /// A training step (forward, backward, SGD on every parameter) and an inference pass allocate
    /// nothing, at the full batch and a partial one.
    @Test func passesAllocateNothing() throws {
        let m = try Self.mlp(hidden: [128, 64])
        let train = try makeExecutor(m.graph, PlanOptions(.training, maxBatch: 64, seeds: [m.loss]))
        let infer = try makeExecutor(m.graph, PlanOptions(.inference, maxBatch: 1))
        var random = SeededRandom(seed: 1)
        for p in m.graph.parameters { fill(train.view(of: p), &random, -0.05, 0.05) }
        fill(train.view(of: m.x), &random, 0, 1)
        let labels = train.intView(of: m.labels)
        for i in labels.indices { labels[i] = Int32(i % 10) }
        let weights = m.graph.parameters.map { train.view(of: $0).baseAddress! }
        let gradients = m.graph.parameters.map { UnsafePointer(train.gradient(of: $0).baseAddress!) }
        let counts = m.graph.parameters.map { train.view(of: $0).count }
        func step() {
            train.forward(training: true)
            train.zeroParameterGradients()
            train.backward(from: m.loss)
            var i = 0
            while i < counts.count { Kernels.axpy(-0.01, gradients[i], weights[i], count: counts[i]); i += 1 }
        }
        step()
        infer.forward()
        malloc_counter_start()
        step()
        let full = malloc_counter_stop()
        train.rows = 17
        malloc_counter_start()
        step()
        let partial = malloc_counter_stop()
        malloc_counter_start()
        infer.forward()
        let inference = malloc_counter_stop()
        #expect(full == 0)
        #expect(partial == 0)
        #expect(inference == 0)
        #expect(train.view(of: m.loss)[0].isFinite)
    }
}
