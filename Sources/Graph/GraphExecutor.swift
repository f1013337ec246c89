import Arena
import LowLevel

/// Runs a graph over one planned block of arena memory: forward, and in training backward.
///
/// Construction takes exactly `plan.totalBytes` from the arena (the arena's high-water mark
/// grows by that much and no more) and binds every node to its slots; `forward` and `backward`
/// then allocate nothing.
///
/// Gradients: `backward` zeroes every gradient before its first writer (or lets that writer
/// overwrite it) and accumulates; parameter gradients hold this backward's, or with
/// `accumulate: true` are added to (so micro-batches add up). Not thread-safe.
public final class GraphExecutor {
    public let graph: Graph
    public let plan: MemoryPlan
    /// The arena the block came from, kept alive with the executor.
    public let arena: ArenaAllocator
    public let block: UnsafeMutableRawPointer

    /// Samples in the next pass, 1...maxBatch. Set it before writing inputs.
    public var rows: Int {
        didSet { precondition(rows > 0 && rows <= plan.options.maxBatch, "rows \(rows) is outside 1...\(plan.options.maxBatch)") }
    }

    private let runs: [NodeRun]
    private let definitions: [any Operator.Type]
    /// Per backward step (index s − N): gradients to zero before it runs.
    private let zeroBefore: [[(pointer: UnsafeMutablePointer<Float>, type: TensorType)]]
    private let parameterGradients: [(pointer: UnsafeMutablePointer<Float>, count: Int)]
    /// Parameter gradients that no first writer overwrites, zeroed when a backward starts afresh.
    private let zeroedParameterGradients: [(pointer: UnsafeMutablePointer<Float>, count: Int)]
    private let readable: [Bool]
    private struct SGDTarget {
        let value: UnsafeMutablePointer<Float>, gradient: UnsafePointer<Float>, count: Int, index: Int
    }
    private let sgdTargets: [[SGDTarget]]
    private var decayFlags: [Bool]
    private var externalPointers: [UnsafeMutableRawPointer?]
    private var lastForwardTrained = false
    private var sgdStep: (learningRate: Float, weightDecay: Float)?

    public init(graph: Graph, options: PlanOptions, arena: ArenaAllocator) throws(GraphError) {
        let plan = try MemoryPlan(graph: graph, options: options)
        BLAS.configure(threads: BLAS.threads)
        do {
            // The arena hands out a (non-nil) start even for zero bytes.
            block = UnsafeMutableRawPointer(try arena.allocate(UInt8.self, count: plan.totalBytes).baseAddress!)
        } catch {
            throw GraphError("the graph needs \(plan.totalBytes) bytes of arena: \(error)")
        }
        block.initializeMemory(as: UInt8.self, repeating: 0, count: plan.totalBytes)
        self.graph = graph
        self.plan = plan
        self.arena = arena
        self.rows = options.maxBatch
        let base = block
        func pointer(_ slot: MemoryPlan.Slot) -> UnsafeMutableRawPointer { base + slot.offset }
        func gradient(_ id: ValueID) -> UnsafeMutablePointer<Float>? {
            plan.gradients[id.index].map { pointer($0).assumingMemoryBound(to: Float.self) }
        }
        let consumers = graph.consumers
        var runs: [NodeRun] = []
        for (k, node) in graph.nodes.enumerated() {
            let backward = plan.runsBackward[k]
            runs.append(NodeRun(
                name: node.name, maxBatch: options.maxBatch, attributes: node.attributes,
                inputTypes: node.inputs.map(graph.type(of:)), outputTypes: node.outputs.map(graph.type(of:)),
                inputs: node.inputs.map { pointer(plan.values[$0.index]) },
                outputs: node.outputs.map { pointer(plan.values[$0.index]) },
                inputGradients: node.inputs.map { backward ? gradient($0) : nil },
                outputGradients: node.outputs.map { backward ? gradient($0) : nil },
                buffers: plan.requests[k].map(pointer),
                firstWriter: plan.firstWriter[k],
                readsParameter: node.inputs.map { graph.values[$0.index].role == .parameter },
                sgdFusable: node.inputs.map { id in
                    node.op.definition.fusesSGD && graph.values[id.index].role == .parameter
                        && consumers[id.index] == [k] && node.inputs.filter { $0 == id }.count == 1
                }))
        }
        self.runs = runs
        self.definitions = graph.nodes.map(\.op.definition)
        // For SGD during backward: after node k's backward, the parameters whose gradient it
        // completes (k is their earliest reader), unless k updates them itself.
        var completes = Array(repeating: [SGDTarget](), count: graph.nodes.count)
        for id in graph.parameters {
            guard let slot = plan.gradients[id.index], let k = consumers[id.index].first(where: { plan.runsBackward[$0] }) else { continue }
            let i = graph.nodes[k].inputs.firstIndex(of: id)!
            if runs[k].sgdFusable[i] { continue }
            completes[k].append(SGDTarget(value: pointer(plan.values[id.index]).assumingMemoryBound(to: Float.self),
                                          gradient: pointer(slot).assumingMemoryBound(to: Float.self),
                                          count: graph.type(of: id).elementsPerSample, index: id.index))
        }
        self.sgdTargets = completes
        self.decayFlags = Array(repeating: false, count: graph.values.count)
        let n = graph.nodes.count
        var zeroBefore = Array(repeating: [(pointer: UnsafeMutablePointer<Float>, type: TensorType)](), count: max(n, 1))
        var parameterGradients: [(pointer: UnsafeMutablePointer<Float>, count: Int)] = []
        var zeroedParameterGradients: [(pointer: UnsafeMutablePointer<Float>, count: Int)] = []
        let overwritten = Set(graph.nodes.indices.flatMap { k in
            graph.nodes[k].inputs.indices.filter { plan.firstWriter[k][$0] }.map { graph.nodes[k].inputs[$0].index }
        })
        for (i, value) in graph.values.enumerated() {
            guard let slot = plan.gradients[i] else { continue }
            let p = pointer(slot).assumingMemoryBound(to: Float.self)
            if value.role == .parameter {
                parameterGradients.append((p, value.type.elementsPerSample))
                if !overwritten.contains(i) { zeroedParameterGradients.append((p, value.type.elementsPerSample)) }
            } else if !overwritten.contains(i) {
                zeroBefore[slot.first - n].append((p, value.type))
            }
        }
        self.zeroBefore = zeroBefore
        self.parameterGradients = parameterGradients
        self.zeroedParameterGradients = zeroedParameterGradients
        self.readable = plan.values.map { $0.last == plan.steps - 1 }
        self.externalPointers = Array(repeating: nil, count: graph.values.count)
    }

    /// Bytes an executor for `graph` with `options` takes from its arena.
    public static func arenaBytes(graph: Graph, options: PlanOptions) throws(GraphError) -> Int {
        try MemoryPlan(graph: graph, options: options).totalBytes
    }

    public var maxBatch: Int { plan.options.maxBatch }

    /// A value's elements for the current `rows`: write inputs here, read outputs, initialise parameters.
    /// - Precondition: the value is float32 and readable after a pass: an input, parameter, state,
    ///   graph output, seed, or listed in `PlanOptions.keep`.
    public func view(of id: ValueID) -> UnsafeMutableBufferPointer<Float> {
        precondition(graph.type(of: id).element == .float32, "'\(graph.values[id.index].name)' is not float32: use intView(of:)")
        return UnsafeMutableBufferPointer(start: rawView(id).assumingMemoryBound(to: Float.self), count: count(of: id))
    }

    /// An int32 value's elements for the current `rows` (labels, token ids).
    public func intView(of id: ValueID) -> UnsafeMutableBufferPointer<Int32> {
        precondition(graph.type(of: id).element == .int32, "'\(graph.values[id.index].name)' is not int32: use view(of:)")
        return UnsafeMutableBufferPointer(start: rawView(id).assumingMemoryBound(to: Int32.self), count: count(of: id))
    }

    /// dL/dvalue after `backward`, for the current `rows`.
    /// - Precondition: a parameter's, or a value listed in `PlanOptions.gradients`, in a training plan.
    public func gradient(of id: ValueID) -> UnsafeMutableBufferPointer<Float> {
        guard let slot = plan.gradients[id.index], slot.last == plan.steps - 1 else {
            preconditionFailure("no gradient of '\(graph.values[id.index].name)' is kept: list it in PlanOptions.gradients")
        }
        return UnsafeMutableBufferPointer(start: (block + slot.offset).assumingMemoryBound(to: Float.self), count: count(of: id))
    }

    /// Runs every node forward on the first `rows` samples of the inputs; `training` selects batch
    /// statistics and dropout.
    public func forward(training: Bool = false) {
        lastForwardTrained = training
        for k in runs.indices {
            runs[k].rows = rows
            runs[k].isTraining = training
            definitions[k].forward(runs[k])
        }
    }

    /// Points an external value (`PlanOptions.external`) at the caller's memory, which must hold
    /// its elements (`rows × elementsPerSample` for an input) for every later pass until bound again.
    public func bind(_ input: ValueID, to memory: UnsafeRawPointer) {
        precondition(plan.options.external.contains(input), "'\(graph.values[input.index].name)' is not an external input")
        let raw = UnsafeMutableRawPointer(mutating: memory)
        for (k, node) in graph.nodes.enumerated() {
            for (i, id) in node.inputs.enumerated() where id == input { runs[k].inputPointers[i] = raw }
        }
        externalPointers[input.index] = raw
    }

    /// Backward from `seed` with dL/dseed = 1 for every element (the seed's sum is the objective).
    /// Parameter gradients are replaced, or with `accumulate` added to (micro-batches).
    /// - Precondition: a training plan, `seed` among its seeds, after `forward(training: true)` on
    ///   the same rows (what backward reads is saved by a training pass).
    public func backward(from seed: ValueID, accumulate: Bool = false) {
        backward(from: seed, accumulate: accumulate) { g, count in for i in 0..<count { g[i] = 1 } }
    }

    /// Backward from `seed` with dL/dseed given from outside (`gradient` holds the seed's count of
    /// elements for the current rows): how a generator trains through a discriminator.
    public func backward(from seed: ValueID, gradient: UnsafePointer<Float>, accumulate: Bool = false) {
        backward(from: seed, accumulate: accumulate) { g, count in g.update(from: gradient, count: count) }
    }

    /// Marks which parameters take weight decay in `backward(from:gradient:sgd:)` (weights yes,
    /// biases no). Set once; the default is none.
    public func setDecays(_ decays: (ValueID) -> Bool) {
        for id in graph.parameters { decayFlags[id.index] = decays(id) }
        for (k, node) in graph.nodes.enumerated() {
            for (i, id) in node.inputs.enumerated() where graph.values[id.index].role == .parameter {
                runs[k].sgdDecays[i] = decayFlags[id.index]
            }
        }
    }

    /// Backward from `seed` with an outside gradient, applying plain SGD to every parameter as
    /// soon as its gradient is complete: θ ← (1 − ηλ)θ − η·dL/dθ, with λ = `weightDecay` on the
    /// parameters `setDecays` marks. Ops that can (dense) fold the update into the product that
    /// would compute the gradient, so those gradients are not stored; the others' are.
    public func backward(from seed: ValueID, gradient: UnsafePointer<Float>, sgd learningRate: Float, weightDecay: Float) {
        for run in runs {
            run.sgdActive = true
            run.sgdLearningRate = learningRate
            run.sgdWeightDecay = weightDecay
        }
        sgdStep = (learningRate, weightDecay)
        backward(from: seed, accumulate: false) { g, count in g.update(from: gradient, count: count) }
        sgdStep = nil
        for run in runs { run.sgdActive = false }
    }

    /// Sets every parameter gradient to zero.
    public func zeroParameterGradients() {
        for (p, count) in parameterGradients { Kernels.fill(p, with: 0, count: count) }
    }

    private func backward(from seed: ValueID, accumulate: Bool, seeding: (UnsafeMutablePointer<Float>, Int) -> Void) {
        precondition(plan.options.mode == .training && plan.options.seeds.contains(seed),
                     "'\(graph.values[seed.index].name)' is not a seed of this training plan")
        precondition(lastForwardTrained, "backward needs a forward(training: true) first")
        let n = runs.count
        if !accumulate {
            for (p, count) in zeroedParameterGradients { Kernels.fill(p, with: 0, count: count) }
        }
        for run in runs { run.accumulatesParameterGradients = accumulate }
        for step in 0..<n {
            for (p, type) in zeroBefore[step] { Kernels.fill(p, with: 0, count: type.count(rows: rows)) }
            if step == 0, let slot = plan.gradients[seed.index] {
                seeding((block + slot.offset).assumingMemoryBound(to: Float.self), count(of: seed))
            }
            let k = n - 1 - step
            if plan.runsBackward[k] {
                definitions[k].backward(runs[k])
                if let (rate, decay) = sgdStep {
                    for t in sgdTargets[k] {
                        Kernels.sgdUpdate(t.value, gradient: t.gradient, learningRate: rate, decay: decayFlags[t.index] ? decay : 0, count: t.count)
                    }
                }
            }
        }
    }

    private func count(of id: ValueID) -> Int { graph.type(of: id).count(rows: rows) }

    private func rawView(_ id: ValueID) -> UnsafeMutableRawPointer {
        if let external = externalPointers[id.index] { return external }
        precondition(readable[id.index], "'\(graph.values[id.index].name)' is not kept after a pass: list it in PlanOptions.keep")
        precondition(!plan.options.external.contains(id), "external input '\(graph.values[id.index].name)' is not bound yet")
        return block + plan.values[id.index].offset
    }
}
