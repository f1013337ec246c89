import Testing
import LowLevel
@testable import Graph

/// One row per op and shape: the op's backward against central finite differences of
/// f = Σ r·y for a random r, with respect to every float input, batched inputs and parameters
/// alike. A new op is covered by adding rows here; `everyOpHasARow` fails until it has one.
@Suite struct OpGradientTests {
    /// An operand: its shape, whether it is batched (an input) or not (a parameter), the range its
    /// values are drawn from, and whether it holds int32 labels below `labelLimit`.
    struct Operand: CustomStringConvertible, Sendable {
        var shape: [Int]
        var batched = true
        var range: ClosedRange<Float> = -1...1
        /// Draw away from zero (|x| ≥ 0.2), for ops with a kink or pole there.
        var awayFromZero = false
        var labelLimit: Int? = nil
        /// Share of elements set to zero (sparse input for the dense layer's sparse path).
        var zeroFraction: Float = 0
        var description: String { TensorType(shape, labelLimit == nil ? .float32 : .int32, batched: batched).description }
    }

    struct Row: CustomTestStringConvertible, Sendable {
        var op: OpKind
        var operands: [Operand]
        var build: @Sendable (GraphBuilder, [ValueID]) throws -> ValueID
        /// Finite-difference step: smaller for ops with kinks (pooling's winners, a fused ReLU).
        var h: Float = 1e-2
        /// Run the conv → ReLU → max-pool fusion pass on the graph first.
        var fused = false
        var testDescription: String {
            "\(op.rawValue)(\(operands.map(\.description).joined(separator: ", ")))" + (fused ? " fused" : "")
        }
    }

    static func input(_ shape: [Int], _ range: ClosedRange<Float> = -1...1, away: Bool = false) -> Operand {
        Operand(shape: shape, batched: true, range: range, awayFromZero: away)
    }
    static func weight(_ shape: [Int], _ range: ClosedRange<Float> = -1...1) -> Operand {
        Operand(shape: shape, batched: false, range: range)
    }

    static func binaryRows(_ op: OpKind, denominator: ClosedRange<Float> = -1...1,
                           _ f: @escaping @Sendable (GraphBuilder, ValueID, ValueID) throws -> ValueID) -> [Row] {
        let pairs: [(Operand, Operand)] = [
            (input([4]), input([4], denominator)),                  // same shape
            (input([2, 3]), weight([3], denominator)),              // a row (bias) against a batch
            (input([3]), weight([], denominator)),                  // a scalar parameter
            (weight([]), input([2, 3], denominator)),               // the broadcast operand on the left
            (input([2, 3]), input([3], denominator)),               // per-sample trailing broadcast
            (weight([2, 3]), weight([2, 3], denominator)),          // unbatched
        ]
        return pairs.map { a, b in Row(op: op, operands: [a, b]) { g, v in try f(g, v[0], v[1]) } }
    }

    static func unaryRows(_ op: OpKind, _ range: ClosedRange<Float> = -1...1, away: Bool = false,
                          _ f: @escaping @Sendable (GraphBuilder, ValueID) throws -> ValueID) -> [Row] {
        [Operand(shape: [5], range: range, awayFromZero: away),
         Operand(shape: [2, 3], batched: false, range: range, awayFromZero: away)].map { x in
            Row(op: op, operands: [x]) { g, v in try f(g, v[0]) }
        }
    }

    static let rows: [Row] = {
        var rows: [Row] = []
        rows += binaryRows(.add) { g, a, b in try g.add(a, b) }
        rows += binaryRows(.sub) { g, a, b in try g.sub(a, b) }
        rows += binaryRows(.mul) { g, a, b in try g.mul(a, b) }
        rows += binaryRows(.div, denominator: 0.5...2) { g, a, b in try g.div(a, b) }
        rows += unaryRows(.neg) { g, x in try g.neg(x) }
        rows += unaryRows(.exp) { g, x in try g.exp(x) }
        rows += unaryRows(.log, 0.3...2) { g, x in try g.log(x) }
        rows += unaryRows(.sin, -3...3) { g, x in try g.sin(x) }
        rows += unaryRows(.cos, -3...3) { g, x in try g.cos(x) }
        rows += unaryRows(.tanh, -2...2) { g, x in try g.tanh(x) }
        rows += unaryRows(.sqrt, 0.3...2) { g, x in try g.sqrt(x) }
        rows += unaryRows(.square) { g, x in try g.square(x) }
        rows += unaryRows(.relu, away: true) { g, x in try g.relu(x) }
        rows += unaryRows(.sigmoid, -3...3) { g, x in try g.sigmoid(x) }
        for op in [OpKind.sum, .mean] {
            for axes in [ReductionAxes.sample, .lastAxis, .all] {
                for x in [input([2, 3]), weight([4])] {
                    rows.append(Row(op: op, operands: [x]) { g, v in
                        op == .sum ? try g.sum(v[0], over: axes) : try g.mean(v[0], over: axes)
                    })
                }
            }
        }
        let products: [(Operand, Operand, Bool)] = [
            (input([4]), weight([4, 3]), false),          // a dense layer
            (input([2, 4]), weight([4, 3]), false),       // leading dimensions become rows
            (input([4]), weight([3, 4]), true),           // x·Wᵀ
            (input([2, 4]), input([4, 3]), false),        // per-sample products
            (input([2, 4]), input([3, 4]), true),         // per-sample Q·Kᵀ
            (weight([2, 4]), input([4, 3]), false),       // a weight times per-sample matrices
            (weight([2, 4]), weight([4, 3]), false),      // unbatched
            (input([40]), weight([5, 40]), true),         // long rows: the dot-product path
        ]
        for (a, b, t) in products {
            rows.append(Row(op: .matmul, operands: [a, b]) { g, v in try g.matmul(v[0], v[1], transposeB: t) })
        }
        rows.append(Row(op: .constant, operands: [input([3])]) { g, v in try g.mul(v[0], try g.constant(2.5, shape: [3])) })
        for classes in [2, 5] {
            rows.append(Row(op: .softmaxCrossEntropy,
                            operands: [input([classes], -2...2), Operand(shape: [], labelLimit: classes)]) { g, v in
                try g.softmaxCrossEntropy(logits: v[0], labels: v[1])
            })
        }
        rows += unaryRows(.elu, -2...2, away: true) { g, x in try g.elu(x) }
        rows += unaryRows(.leakyReLU, away: true) { g, x in try g.leakyReLU(x, slope: 0.2) }
        for sparse in [false, true] {
            let x = Operand(shape: [10], zeroFraction: sparse ? 0.8 : 0)
            rows.append(Row(op: .dense, operands: [x]) { g, v in
                // A graph input gets the sparse path; a computed value (here x·1) the dense one.
                let source = sparse ? v[0] : try g.mul(v[0], try g.constant(1))
                return try g.dense(source, outputs: 4, name: "fc")
            })
        }
        let convolutions: [(Operand, Conv2DSpec, Int)] = [
            (input([2, 6, 7]), Conv2DSpec(filters: 3, kernel: (3, 3), padding: (1, 1)), 0),               // direct, padded
            (input([2, 6, 7]), Conv2DSpec(filters: 3, kernel: (3, 3), padding: (1, 1)), 1),               // the same by im2col
            (input([2, 7, 6]), Conv2DSpec(filters: 2, kernel: (3, 2), stride: (2, 2), same: true), 0),    // strided: im2col
            (input([3, 6, 6]), Conv2DSpec(filters: 16, kernel: (3, 3)), 0),                               // across filters, in place
            (input([1, 20, 20]), Conv2DSpec(filters: 2, kernel: (5, 5)), 0),                              // rows of 16+
        ]
        for (x, spec, algorithm) in convolutions {
            rows.append(Row(op: .conv2d, operands: [x]) { g, v in try g.conv2d(v[0], spec, name: "conv", algorithm: algorithm) })
        }
        // The conv → ReLU → max-pool fusion: ReLU inside the convolution, the pool routing only to
        // positive winners.
        rows.append(Row(op: .conv2d, operands: [input([2, 8, 8])], build: { g, v in
            let conv = try g.conv2d(v[0], Conv2DSpec(filters: 3, kernel: (3, 3), padding: (1, 1)), name: "conv")
            return try g.maxPool2d(try g.relu(conv), PoolSpec(window: (2, 2)))
        }, h: 1e-3, fused: true))
        for (op, window) in [(OpKind.maxPool2d, PoolSpec(window: (2, 2))), (.maxPool2d, PoolSpec(window: (3, 3), stride: (2, 2))),
                             (.avgPool2d, PoolSpec(window: (2, 2))), (.avgPool2d, PoolSpec(window: (4, 5), stride: (1, 1)))] {
            rows.append(Row(op: op, operands: [input([2, 4, 5])], build: { g, v in
                op == .maxPool2d ? try g.maxPool2d(v[0], window) : try g.avgPool2d(v[0], window)
            }, h: 1e-3))
        }
        for shape in [[4], [3, 2, 2]] {
            rows.append(Row(op: .batchNorm, operands: [input(shape, -2...2)]) { g, v in try g.batchNorm(v[0], name: "bn") })
        }
        rows.append(Row(op: .dropout, operands: [input([6])]) { g, v in
            try g.dropout(v[0], rate: 0.3, generator: g.generatorState("dropout.generator"))
        })
        rows.append(Row(op: .reshape, operands: [input([2, 3])]) { g, v in try g.flatten(v[0]) })
        rows.append(Row(op: .embedding, operands: [Operand(shape: [4], labelLimit: 5), weight([5, 3])]) { g, v in
            try g.embedding(v[0], table: v[1])
        })
        for shape in [[4], [2, 5], [2, 20]] { // 20: the kernels' sixteen-lane part and a tail
            rows.append(Row(op: .layerNorm, operands: [input(shape, -2...2)]) { g, v in try g.layerNorm(v[0], name: "ln") })
        }
        rows += unaryRows(.gelu, -3...3) { g, x in try g.gelu(x) }
        rows.append(Row(op: .softmax, operands: [input([5], -2...2)]) { g, v in try g.softmax(v[0]) })
        rows.append(Row(op: .softmax, operands: [input([3, 3], -2...2)]) { g, v in try g.softmax(v[0], causal: true) })
        for causal in [false, true] {
            rows.append(Row(op: .attention, operands: [input([4, 6]), input([4, 6]), input([4, 6])]) { g, v in
                try g.attention(q: v[0], k: v[1], v: v[2], heads: 2, causal: causal)
            })
        }
        // Dropout of the attention weights: every pass draws the same masks (the generator restarts).
        for causal in [false, true] {
            rows.append(Row(op: .attention, operands: [input([4, 6]), input([4, 6]), input([4, 6])]) { g, v in
                try g.attention(q: v[0], k: v[1], v: v[2], heads: 2, causal: causal, dropout: 0.3, generator: g.generatorState("attn.generator"))
            })
        }
        // The vector paths: head size 16 over two blocks of positions, and a group of four blocks.
        for (shape, heads) in [([20, 32], 2), ([50, 16], 1)] {
            rows.append(Row(op: .attention, operands: [input(shape), input(shape), input(shape)]) { g, v in
                try g.attention(q: v[0], k: v[1], v: v[2], heads: heads, causal: true)
            })
        }
        rows.append(Row(op: .sinusoidalPositions, operands: [input([3, 4])]) { g, v in
            try g.mul(v[0], try g.sinusoidalPositions(positions: 3, width: 4))
        })
        for columns in [0..<2, 3..<6] {
            rows.append(Row(op: .slice, operands: [input([2, 6])]) { g, v in try g.slice(v[0], columns: columns) })
        }
        rows.append(Row(op: .transpose, operands: [input([3, 5])]) { g, v in try g.transpose(v[0]) })
        // Cross-entropy at every position of a sequence.
        rows.append(Row(op: .softmaxCrossEntropy, operands: [input([3, 4], -2...2), Operand(shape: [3], labelLimit: 4)]) { g, v in
            try g.softmaxCrossEntropy(logits: v[0], labels: v[1])
        })
        for shape in [[3], [2, 2, 3]] {
            rows.append(Row(op: .channelAffine, operands: [input(shape), weight([shape[0]]), weight([shape[0]])]) { g, v in
                try g.channelAffine(v[0], scale: v[1], shift: v[2])
            })
        }
        // A kernel machine's kernel row, with respect to the query and the stored points.
        for kernel in [KernelFunction.linear, .polynomial(degree: 3), .gaussian(sigma: 1.5), .laplace(sigma: 2)] {
            rows.append(Row(op: .kernel, operands: [input([3], -1...1), weight([4, 3], -1...1)]) { g, v in
                try g.kernel(v[0], points: v[1], kernel)
            })
        }
        // A U-Net's pieces: channels joined, nearest-neighbour upsampling, a per-channel value added.
        rows.append(Row(op: .concat, operands: [input([2, 3, 2]), input([1, 3, 2])]) { g, v in try g.concat(v[0], v[1]) })
        for factor in [1, 2, 3] {
            rows.append(Row(op: .upsample2d, operands: [input([2, 2, 3])]) { g, v in try g.upsample2d(v[0], factor: factor) })
        }
        for b in [input([2]), weight([2])] {
            rows.append(Row(op: .addPerChannel, operands: [input([2, 3, 2]), b]) { g, v in try g.addPerChannel(v[0], v[1]) })
        }
        // The reward model's pairwise loss, on both sides of d = 0.
        for (a, b) in [(input([3], -2...2), input([3], -2...2)), (input([2, 2], 0.5...3), input([2, 2], -3 ... -0.5))] {
            rows.append(Row(op: .preferenceLoss, operands: [a, b]) { g, v in try g.preferenceLoss(preferred: v[0], rejected: v[1]) })
        }
        return rows
    }()

    static func rawState(_ run: GraphExecutor, _ id: ValueID) -> UnsafeMutableRawBufferPointer {
        run.graph.type(of: id).element == .int32 ? UnsafeMutableRawBufferPointer(run.intView(of: id))
            : UnsafeMutableRawBufferPointer(run.view(of: id))
    }

    @Test func everyOpHasARow() {
        let covered = Set(Self.rows.map(\.op))
        let differentiable = Set(OpKind.allCases.filter { $0.definition.isDifferentiable })
        #expect(covered == differentiable, "ops without a gradient row: \(differentiable.subtracting(covered))")
    }

    /// Ops without a gradient (votes and neighbour lookups are steps) are refused by a training
    /// plan that needs backward through them, with the node named.
    @Test func opsWithoutAGradientAreRefusedInTraining() throws {
        let g = GraphBuilder()
        let x = g.input("x", shape: [3])
        let w = g.parameter("w", shape: [3, 3]), b = g.parameter("b", shape: [3])
        let votes = try g.pairwiseVote(try g.apply(.dense, [x, w, b], name: "pairs")[0], classes: 3, name: "vote")
        let loss = try g.sum(votes, over: .all)
        g.output(loss)
        let graph = try g.build()
        let error = #expect(throws: GraphError.self) { try MemoryPlan(graph: graph, options: PlanOptions(.training, maxBatch: 2, seeds: [loss])) }
        #expect(error?.message.contains("'vote' (pairwiseVote) has no gradient") == true)
        _ = try MemoryPlan(graph: graph, options: PlanOptions(.inference, maxBatch: 2))
    }

    @Test(arguments: rows)
    func backwardMatchesFiniteDifferences(row: Row) throws {
        let g = GraphBuilder()
        var ids: [ValueID] = []
        for (i, operand) in row.operands.enumerated() {
            if operand.labelLimit != nil {
                ids.append(g.input("labels\(i)", shape: operand.shape, element: .int32))
            } else if operand.batched {
                ids.append(g.input("x\(i)", shape: operand.shape))
            } else {
                ids.append(g.parameter("w\(i)", shape: operand.shape))
            }
        }
        var y = try row.build(g, ids)
        var graph = try g.build()
        if row.fused {
            let fused = try graph.fusingConvReLUMaxPool()
            #expect(fused.graph.nodes.count == graph.nodes.count - 1, "the ReLU is fused away")
            #expect(fused.graph.nodes.contains { $0.op == .conv2d && $0.attributes.int("relu") == 1 })
            graph = fused.graph
            y = fused.map[y.index]!
            ids = ids.map { fused.map[$0.index]! }
        }
        let floats = row.operands.indices.filter { row.operands[$0].labelLimit == nil }
        let inputs = floats.filter { row.operands[$0].batched }.map { ids[$0] }
        let run = try makeExecutor(graph, PlanOptions(.training, maxBatch: 4, seeds: [y], gradients: inputs))
        run.rows = 3
        var random = SeededRandom(seed: UInt64(row.testDescription.utf8.reduce(5381) { ($0 &* 33) &+ UInt64($1) }))
        // Parameters the op's builder made itself (a layer's weights), and state: a seeded generator.
        for p in graph.parameters where !ids.contains(p) { fill(run.view(of: p), &random) }
        for id in graph.values(.state) where graph.type(of: id).element == .int32 {
            withUnsafeBytes(of: RandomGenerator(seed: 9)) { bytes in
                UnsafeMutableRawBufferPointer(run.intView(of: id)).copyMemory(from: bytes)
            }
        }
        let states = graph.values(.state).map { Array(UnsafeRawBufferPointer(Self.rawState(run, $0))) }

        for (i, operand) in row.operands.enumerated() {
            if let limit = operand.labelLimit {
                let labels = run.intView(of: ids[i])
                for j in labels.indices { labels[j] = Int32(random.next() % UInt64(limit)) }
                continue
            }
            let values = run.view(of: ids[i])
            for j in values.indices {
                var v = random.uniform(operand.range.lowerBound, operand.range.upperBound)
                if operand.awayFromZero, abs(v) < 0.2 { v = v < 0 ? v - 0.2 : v + 0.2 }
                if random.uniform(0, 1) < operand.zeroFraction { v = 0 }
                values[j] = v
            }
        }
        // Every pass starts from the same state (batch norm's running statistics, dropout's generator).
        func restoreState() {
            for (id, bytes) in zip(graph.values(.state), states) { bytes.withUnsafeBytes { Self.rawState(run, id).copyMemory(from: $0) } }
        }
        restoreState()
        run.forward(training: true)
        let weights = (0..<run.view(of: y).count).map { _ in random.uniform(-1, 1) }
        func objective() -> Double {
            restoreState()
            run.forward(training: true)
            return zip(run.view(of: y), weights).reduce(0) { $0 + Double($1.0) * Double($1.1) }
        }
        _ = objective()
        run.zeroParameterGradients()
        run.backward(from: y, gradient: weights)

        let checked = floats.map { ids[$0] } + graph.parameters.filter { !ids.contains($0) }
        expectGradientsMatch(run, values: checked, analytic: { Array(run.gradient(of: $0)) }, objective: objective, h: row.h)
    }
}
