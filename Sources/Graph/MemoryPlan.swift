/// What an executor is planned for.
public struct PlanOptions: Sendable {
    public enum Mode: Sendable { case inference, training }
    public var mode: Mode
    /// The most samples one pass may hold.
    public var maxBatch: Int
    /// Values backward may start from (training): usually the loss.
    public var seeds: [ValueID]
    /// Values besides the parameters whose gradient is wanted and stays readable after backward
    /// (an input, for a GAN's generator or a saliency map).
    public var gradients: [ValueID]
    /// Values besides the graph's inputs and outputs that stay readable after a pass.
    public var keep: [ValueID]
    /// Inputs, parameters or state the caller keeps in its own memory and binds with
    /// `GraphExecutor.bind(_:to:)` (a data set's batch, weights in a model file, both read in
    /// place): they get no bytes in the plan.
    public var external: [ValueID]
    /// Whether the ops' own buffers (`Operator.buffers`) are planned. A runtime that brings its
    /// own scratch, such as the C runtime running a model file's plan, plans values only.
    public var opBuffers: Bool

    public init(_ mode: Mode, maxBatch: Int, seeds: [ValueID] = [], gradients: [ValueID] = [], keep: [ValueID] = [],
                external: [ValueID] = [], opBuffers: Bool = true) {
        self.opBuffers = opBuffers
        self.mode = mode
        self.maxBatch = maxBatch
        self.seeds = seeds
        self.gradients = gradients
        self.keep = keep
        self.external = external
    }
}

/// Where every buffer of one executor lives in its block, laid out by lifetime.
///
/// Time is counted in steps: node i's forward is step i; in training, its backward is step
/// 2N − 1 − i. A buffer is live over a closed range of steps; buffers whose ranges overlap get
/// disjoint bytes, the others may share. Parameters, state, parameter gradients, inputs and kept
/// values live throughout. Placement is greedy (largest first, lowest offset that fits), so the
/// block's size, `totalBytes`, is exactly what the executor takes from its arena.
public struct MemoryPlan: Sendable {
    public enum Category: String, Sendable, CaseIterable {
        /// Parameters and state.
        case weights
        /// Parameter gradients.
        case gradients
        /// Inputs, node outputs and the gradients flowing through them.
        case activations
        /// Ops' extra buffers (saved for backward, scratch).
        case scratch
    }

    public struct Slot: Sendable, Equatable {
        public var offset: Int
        public var bytes: Int
        public var category: Category
        /// First and last step the buffer is live.
        public var first: Int, last: Int
    }

    public let options: PlanOptions
    /// Steps in a pass: N (inference) or 2N (forward and backward).
    public let steps: Int
    /// Per value: where its elements live.
    public let values: [Slot]
    /// Per value: where dL/dvalue lives, nil when no gradient flows through it.
    public let gradients: [Slot?]
    /// Per node: its `BufferRequest`s.
    public let requests: [[Slot]]
    /// Per node: whether its backward runs.
    public let runsBackward: [Bool]
    /// Per node and input: whether the node is the first writer of that input's gradient and may
    /// overwrite it (`Operator.overwritesGradients`), so it is not zeroed first.
    public let firstWriter: [[Bool]]
    /// Size of the block, in bytes.
    public let totalBytes: Int
    /// Per value: the value whose bytes it shares (an in-place output), nil for its own.
    public let sharesBytes: [Int?]

    /// Bytes by category (slots that share memory are each counted; see `totalBytes` for the block).
    public func bytes(_ category: Category) -> Int {
        allSlots.filter { $0.category == category }.reduce(0) { $0 + $1.bytes }
    }

    /// Every slot with bytes of its own (in-place outputs are their inputs'), for checks.
    public var allSlots: [Slot] {
        values.indices.filter { sharesBytes[$0] == nil }.map { values[$0] } + gradients.compactMap { $0 } + requests.flatMap { $0 }
    }

    public init(graph: Graph, options: PlanOptions) throws(GraphError) {
        guard options.maxBatch > 0 else { throw GraphError("maxBatch must be positive, got \(options.maxBatch)") }
        for id in options.seeds + options.gradients + options.keep + options.external where id.index < 0 || id.index >= graph.values.count {
            throw GraphError("plan names value \(id), outside the graph's \(graph.values.count) values")
        }
        for id in options.external where graph.values[id.index].role == .activation {
            throw GraphError("'\(graph.values[id.index].name)' is computed by a node, so it cannot be external")
        }
        let training = options.mode == .training
        if training, options.seeds.isEmpty { throw GraphError("a training plan needs a seed value (the loss) to start backward from") }
        for id in options.seeds where graph.type(of: id).element != .float32 {
            throw GraphError("seed '\(graph.values[id.index].name)' is not float32")
        }
        self.options = options
        let n = graph.nodes.count
        let steps = training ? 2 * n : max(n, 1)
        let end = steps - 1
        let consumers = graph.consumers
        func backwardStep(_ node: Int) -> Int { 2 * n - 1 - node }
        func round(_ bytes: Int) -> Int { (bytes + 63) & ~63 }

        // Which values carry a gradient: those that depend on something wanted (a parameter or a
        // requested value) and that a seed depends on.
        var wanted = Array(repeating: false, count: graph.values.count)
        var reaches = Array(repeating: false, count: graph.values.count)
        if training {
            for (i, v) in graph.values.enumerated() where v.role == .parameter { wanted[i] = true }
            for id in options.gradients { wanted[id.index] = true }
            for node in graph.nodes where node.inputs.contains(where: { wanted[$0.index] }) {
                for id in node.outputs { wanted[id.index] = true }
            }
            for id in options.seeds { reaches[id.index] = true }
            for node in graph.nodes.reversed() where node.outputs.contains(where: { reaches[$0.index] }) {
                for id in node.inputs { reaches[id.index] = true }
            }
        }
        let hasGradient = graph.values.indices.map {
            wanted[$0] && reaches[$0] && graph.values[$0].type.element == .float32
        }
        let runsBackward = graph.nodes.map { node in
            node.outputs.contains { hasGradient[$0.index] } && node.inputs.contains { hasGradient[$0.index] }
        }

        for (k, node) in graph.nodes.enumerated() where runsBackward[k] && !node.op.definition.isDifferentiable {
            throw GraphError("node '\(node.name)' (\(node.op.rawValue)) has no gradient, and this plan needs one through it")
        }
        var firstWriter = graph.nodes.map { Array(repeating: false, count: $0.inputs.count) }
        let seedSet = Set(options.seeds)
        for i in graph.values.indices where hasGradient[i] && !seedSet.contains(ValueID(i)) {
            guard let c = consumers[i].last(where: { runsBackward[$0] }) else { continue }
            let node = graph.nodes[c]
            guard node.op.definition.overwritesGradients, node.inputs.filter({ $0.index == i }).count == 1 else { continue }
            firstWriter[c][node.inputs.firstIndex { $0.index == i }!] = true
        }

        // Lifetimes.
        let kept = Set(graph.outputs + options.keep + options.seeds)
        var valueSlots: [Slot] = []
        for (i, value) in graph.values.enumerated() {
            let bytes = round(value.type.bytes(rows: options.maxBatch))
            switch value.role {
            case .parameter, .state:
                let external = options.external.contains(ValueID(i))
                valueSlots.append(Slot(offset: 0, bytes: external ? 0 : bytes, category: .weights, first: 0, last: end))
            case .input:
                let external = options.external.contains(ValueID(i))
                valueSlots.append(Slot(offset: 0, bytes: external ? 0 : bytes, category: .activations, first: 0, last: end))
            case .activation:
                let p = value.producer!
                var last = p
                for c in consumers[i] { last = max(last, c, runsBackward[c] ? backwardStep(c) : c) }
                if runsBackward[p] { last = max(last, backwardStep(p)) }
                if kept.contains(ValueID(i)) { last = end }
                valueSlots.append(Slot(offset: 0, bytes: bytes, category: .activations, first: p, last: last))
            }
        }
        // In place (inference): an element-wise node's output takes its input's bytes when the
        // input dies at that node. `alias[v]` is the value whose slot v shares.
        var alias = [Int?](repeating: nil, count: graph.values.count)
        if !training {
            for (k, node) in graph.nodes.enumerated() where node.op.definition.runsInPlace {
                let x = node.inputs[0].index, y = node.outputs[0].index
                var root = x
                while let a = alias[root] { root = a }
                guard graph.values[x].role == .activation, valueSlots[x].last == k, valueSlots[root].bytes == valueSlots[y].bytes,
                      node.inputs.dropFirst().allSatisfy({ $0.index != x }) else { continue }
                alias[y] = root
                valueSlots[root].last = max(valueSlots[root].last, valueSlots[y].last)
                valueSlots[y].bytes = 0
            }
        }
        var gradientSlots: [Slot?] = Array(repeating: nil, count: graph.values.count)
        let requested = Set(options.gradients)
        for (i, value) in graph.values.enumerated() where hasGradient[i] {
            let bytes = round(value.type.bytes(rows: options.maxBatch))
            if value.role == .parameter {
                gradientSlots[i] = Slot(offset: 0, bytes: bytes, category: .gradients, first: 0, last: end)
                continue
            }
            // Live from its first writer (a consumer's backward, or the start of backward for a
            // seed) to its producer's backward, or to the end when requested.
            var first = options.seeds.contains(ValueID(i)) ? n : end
            for c in consumers[i] where runsBackward[c] { first = min(first, backwardStep(c)) }
            var last = value.producer.map(backwardStep) ?? end
            if requested.contains(ValueID(i)) || value.role != .activation { last = end }
            gradientSlots[i] = Slot(offset: 0, bytes: bytes, category: .activations, first: first, last: max(first, last))
        }
        var requestSlots: [[Slot]] = []
        for (k, node) in graph.nodes.enumerated() {
            let types = node.inputs.map(graph.type(of:)), outs = node.outputs.map(graph.type(of:))
            var slots: [Slot] = []
            for request in node.op.definition.buffers(inputs: types, outputs: outs, attributes: node.attributes,
                                                      maxBatch: options.maxBatch) {
                let bytes = options.opBuffers ? round(request.bytes) : 0
                switch request.lifetime {
                case .forward:
                    slots.append(Slot(offset: 0, bytes: bytes, category: .scratch, first: k, last: k))
                case .saved:
                    slots.append(Slot(offset: 0, bytes: bytes, category: .scratch, first: k, last: runsBackward[k] ? backwardStep(k) : k))
                case .backwardState:
                    slots.append(Slot(offset: 0, bytes: runsBackward[k] ? bytes : 0, category: .scratch, first: 0, last: end))
                case .backward:
                    // Unused unless backward runs; still given bytes so indices stay stable.
                    let step = runsBackward[k] ? backwardStep(k) : k
                    slots.append(Slot(offset: 0, bytes: runsBackward[k] ? bytes : 0, category: .scratch, first: step, last: step))
                }
            }
            requestSlots.append(slots)
        }

        // Greedy placement: biggest first, at the lowest offset clear of every placed buffer whose
        // lifetime overlaps.
        enum Ref { case value(Int), gradient(Int), request(Int, Int) }
        var items: [(ref: Ref, slot: Slot)] = valueSlots.enumerated().map { (.value($0.offset), $0.element) }
        for (i, s) in gradientSlots.enumerated() { if let s { items.append((.gradient(i), s)) } }
        for (k, slots) in requestSlots.enumerated() { for (j, s) in slots.enumerated() { items.append((.request(k, j), s)) } }
        let order = items.indices.sorted { a, b in
            let sa = items[a].slot, sb = items[b].slot
            let persistentA = sa.first == 0 && sa.last == end, persistentB = sb.first == 0 && sb.last == end
            if persistentA != persistentB { return persistentA }
            if sa.bytes != sb.bytes { return sa.bytes > sb.bytes }
            return a < b
        }
        var placed: [Slot] = []
        var total = 0
        var aliasesOf = [Int?](repeating: nil, count: graph.values.count)
        for index in order {
            var slot = items[index].slot
            if slot.bytes > 0 {
                let overlapping = placed.filter { $0.first <= slot.last && slot.first <= $0.last && $0.bytes > 0 }
                    .sorted { $0.offset < $1.offset }
                var offset = 0
                for other in overlapping {
                    if offset + slot.bytes <= other.offset { break }
                    offset = max(offset, other.offset + other.bytes)
                }
                slot.offset = offset
                total = max(total, offset + slot.bytes)
            }
            placed.append(slot)
            switch items[index].ref {
            case .value(let i): valueSlots[i] = slot
            case .gradient(let i): gradientSlots[i] = slot
            case .request(let k, let j): requestSlots[k][j] = slot
            }
        }
        for y in alias.indices {
            guard var x = alias[y] else { continue }
            while let a = alias[x] { x = a }
            valueSlots[y].offset = valueSlots[x].offset
            valueSlots[y].bytes = valueSlots[x].bytes
            valueSlots[y].first = graph.values[y].producer ?? 0
            valueSlots[y].last = valueSlots[x].last
            aliasesOf[y] = x
        }
        self.steps = steps
        self.values = valueSlots
        self.gradients = gradientSlots
        self.requests = requestSlots
        self.runsBackward = runsBackward
        self.firstWriter = firstWriter
        self.sharesBytes = aliasesOf
        self.totalBytes = total
    }
}
