import Testing
import Foundation
import Arena
import Graph
import Infer
import InferC
import LowLevel
import ModelFile
import Training

/// Model file version 2: a network's inference graph with its memory plan, run by the C runtime.
@Suite struct GraphFileTests {
    /// Version 2 of a trained network (what export writes) computes what version 1 computes, bit
    /// for bit, in no more arena, for `infer_run` and for PNG input.
    static func checkAgainstVersionOne(_ model: TrainedOnSample) throws {
        let v2 = model.bytes
        try v2.withUnsafeBytes { raw throws in
            let file = try ModelFile(base: raw.baseAddress!, length: raw.count)
            #expect(file.version == 2 && file.graph != nil)
        }
        let one = try OpenModel(model.versionOneBytes), two = try OpenModel(v2)
        #expect(two.arenaLength <= one.arenaLength, "version 2 needs \(two.arenaLength) arena bytes, version 1 \(one.arenaLength)")
        for i in 0..<30 {
            let input = testInput(model.test, i)
            let (s1, y1) = one.run(input), (s2, y2) = two.run(input)
            #expect(s1 == 0 && s2 == 0)
            #expect(y1.map(\.bitPattern) == y2.map(\.bitPattern), "digit \(i): \(y1) vs \(y2)")
            #expect(y2 == model.swiftLogits(input).softmaxed(), "digit \(i): the C runtime and the Swift network differ")
        }
        let png = fixtures.appendingPathComponent("png/gray8.png").path
        let a = one.classify(png: png), b = two.classify(png: png)
        #expect(a.status == 0 && b.status == 0 && a.label == b.label)
        #expect(a.probabilities.map(\.bitPattern) == b.probabilities.map(\.bitPattern))
    }

    @Test func mlpRunsAsVersionOneDoes() throws { try Self.checkAgainstVersionOne(TrainedModel.shared) }
    @Test func leNetRunsAsVersionOneDoes() throws { try Self.checkAgainstVersionOne(TrainedLeNet.shared) }

    /// A graph no layer list can express: a residual block, y = W₂·relu(W₁x + b₁) + b₂ + x, then a
    /// reshape and a channel affine. The C runtime matches the graph executor.
    @Test func residualGraphMatchesTheExecutor() throws {
        let (graph, values, output) = try Self.residualGraph()
        let bytes = try ModelWriter.encodeGraph(graph, values: values,
                                                description: .init(inputShape: (1, 1, 12), outputKind: .values, inputEncoding: .floats))
        let opened = try OpenModel(bytes)
        #expect(infer_input_len(opened.handle) == 12 && infer_output_len(opened.handle) == 12)
        let run = try Self.makeInferenceExecutor(graph)
        for (id, v) in values { _ = run.view(of: ValueID(id)).update(fromContentsOf: v) }
        var rng = SeededRandom(seed: 9)
        for _ in 0..<10 {
            let input = (0..<12).map { _ in Float(rng.uniform(-1, 1)) }
            _ = run.view(of: graph.inputs[0]).update(fromContentsOf: input)
            run.forward()
            let expected: [Float] = Array(run.view(of: output))
            let (status, got) = opened.run(input)
            #expect(status == 0)
            #expect(got.map(\.bitPattern) == expected.map(\.bitPattern), "\(got) vs \(expected)")
        }
    }

    /// A U-Net's pieces (average pooling, a per-channel offset from a parameter, nearest-neighbour
    /// upsampling, a skip joined by concatenation) run in the file as in the executor.
    @Test func uNetOpsMatchTheExecutor() throws {
        let g = GraphBuilder()
        let x = g.input("x", shape: [1, 8, 8])
        let skip = try g.relu(try g.conv2d(x, Conv2DSpec(filters: 3, kernel: (3, 3), same: true), name: "down.conv"))
        let low = try g.conv2d(try g.avgPool2d(skip, PoolSpec(window: (2, 2))), Conv2DSpec(filters: 2, kernel: (3, 3), same: true), name: "mid.conv")
        let offset = g.parameter("mid.offset", shape: [2])
        let joined = try g.concat(try g.upsample2d(try g.addPerChannel(low, offset), factor: 2), skip, name: "up.join")
        let out = try g.conv2d(joined, Conv2DSpec(filters: 1, kernel: (3, 3), same: true), name: "out")
        g.output(out)
        let graph = try g.build()
        var rng = SeededRandom(seed: 12)
        var values: TensorValues = [:]
        for id in graph.parameters { values[id.index] = (0..<graph.type(of: id).elementsPerSample).map { _ in Float(rng.uniform(-0.5, 0.5)) } }
        let bytes = try ModelWriter.encodeGraph(graph, values: values, description: .init(inputShape: (1, 8, 8), outputKind: .values, inputEncoding: .floats))
        let opened = try OpenModel(bytes)
        let run = try Self.makeInferenceExecutor(graph)
        for (id, v) in values { _ = run.view(of: ValueID(id)).update(fromContentsOf: v) }
        for _ in 0..<3 {
            let input = (0..<64).map { _ in Float(rng.uniform(-1, 1)) }
            _ = run.view(of: graph.inputs[0]).update(fromContentsOf: input)
            run.forward()
            let expected: [Float] = Array(run.view(of: out))
            let (status, got) = opened.run(input)
            #expect(status == 0)
            let gap = zip(got, expected).map { abs($0 - $1) }.max()!
            #expect(gap <= 1e-5, "the file and the executor differ by \(gap)")
        }
        // A concat or an upsampling whose shapes do not fit is a format error.
        for (name, shape, message) in [("up.join", [4, 8, 8], "concat needs"), ("up.join", [5, 4, 16], "concat needs")] {
            var file = try ModelWriter.graphFile(graph, values: values)
            let node = try #require(file.nodes.firstIndex { $0.name == name })
            file.values[file.nodes[node].outputs[0]].shape = shape
            try Self.expectFormatError(try ModelWriter.serialise(graph: file, description: .init(inputShape: (1, 8, 8), outputKind: .values, inputEncoding: .floats)), message)
        }
        var file = try ModelWriter.graphFile(graph, values: values)
        let up = try #require(file.nodes.firstIndex { $0.op == .upsample2d })
        file.nodes[up].arguments = [("factor", .ints([3]))]
        try Self.expectFormatError(try ModelWriter.serialise(graph: file, description: .init(inputShape: (1, 8, 8), outputKind: .values, inputEncoding: .floats)),
                                   "upsample2d needs")
    }

    static func residualGraph() throws -> (Graph, TensorValues, ValueID) {
        let g = GraphBuilder()
        let x = g.input("x", shape: [12])
        let h = try g.relu(try g.dense(x, outputs: 16, name: "block.fc1"), name: "block.act")
        let y = try g.add(try g.dense(h, outputs: 12, name: "block.fc2"), x, name: "block.residual")
        let planes = try g.reshape(y, to: [3, 4], name: "planes")
        let scale = g.parameter("affine.scale", shape: [3]), shift = g.parameter("affine.shift", shape: [3])
        let out = try g.channelAffine(planes, scale: scale, shift: shift, name: "affine")
        g.output(out)
        let graph = try g.build()
        var rng = SeededRandom(seed: 5)
        var values: TensorValues = [:]
        for id in graph.parameters {
            values[id.index] = (0..<graph.type(of: id).elementsPerSample).map { _ in Float(rng.uniform(-0.5, 0.5)) }
        }
        return (graph, values, out)
    }

    static func makeInferenceExecutor(_ graph: Graph) throws -> GraphExecutor {
        BLAS.configure(threads: 1)
        let options = PlanOptions(.inference, maxBatch: 1)
        let arena = try ArenaAllocator(capacity: try GraphExecutor.arenaBytes(graph: graph, options: options))
        return try GraphExecutor(graph: graph, options: options, arena: arena)
    }

    /// The arena `infer_arena_size` reports is exactly what opening takes: one byte less fails.
    @Test func arenaSizeIsExact() throws {
        let (graph, values, _) = try Self.residualGraph()
        let bytes = try ModelWriter.encodeGraph(graph, values: values,
                                                description: .init(inputShape: (1, 1, 12), outputKind: .values, inputEncoding: .floats))
        try bytes.withUnsafeBytes { raw throws in
            var needed = 0
            #expect(infer_arena_size(raw.baseAddress, raw.count, &needed) == 0)
            let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: needed, alignment: 64)
            defer { arena.deallocate() }
            var out: OpaquePointer?
            #expect(infer_open(raw.baseAddress, raw.count, arena.baseAddress, needed - 1, &out) == InferStatus.arena.rawValue)
            #expect(out == nil)
            #expect(infer_open(raw.baseAddress, raw.count, arena.baseAddress, needed, &out) == 0)
        }
    }

    // MARK: - Corrupt node records

    /// The residual graph's file with one change (checksum recomputed): the loader must refuse it
    /// with `INFER_E_FORMAT` and a message containing `expected`.
    static func expectRejected(_ expected: String, sourceLocation: SourceLocation = #_sourceLocation,
                               _ change: (inout GraphFile) -> Void) throws {
        let (graph, values, _) = try residualGraph()
        var file = try ModelWriter.graphFile(graph, values: values)
        change(&file)
        let bytes = try ModelWriter.serialise(graph: file, description: .init(inputShape: (1, 1, 12), outputKind: .values,
                                                                              inputEncoding: .floats))
        try expectFormatError(bytes, expected, sourceLocation: sourceLocation)
    }

    static func expectFormatError(_ bytes: [UInt8], _ expected: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
        bytes.withUnsafeBytes { raw in
            var needed = 0
            let status = infer_arena_size(raw.baseAddress, raw.count, &needed)
            let message = String(cString: infer_last_error())
            #expect(status == InferStatus.format.rawValue, "status \(status): \(message)", sourceLocation: sourceLocation)
            #expect(message.contains(expected), "message: \(message)", sourceLocation: sourceLocation)
        }
    }

    @Test func unknownOpIsAFormatError() throws {
        let (graph, values, _) = try Self.residualGraph()
        let file = try ModelWriter.graphFile(graph, values: values)
        var bytes = try ModelWriter.serialise(graph: file, description: .init(inputShape: (1, 1, 12), outputKind: .values, inputEncoding: .floats))
        let nodeTable = Int(Self.u64(bytes, 32))
        Self.put32(&bytes, nodeTable + GraphFormat.nodeRecordSize + 48, 999) // node 1's op
        Self.reseal(&bytes)
        try Self.expectFormatError(bytes, "node 1 (block.act): unknown op")
    }

    @Test func valueIDOutOfRangeIsAFormatError() throws {
        try Self.expectRejected("input value out of range") { $0.nodes[1].inputs[0] = 10_000 }
    }

    @Test func readingALaterValueIsAFormatError() throws {
        // fc1 reads the residual sum, which node 3 computes.
        try Self.expectRejected("computed by a later node") { file in
            let sum = file.nodes[3].outputs[0]
            file.nodes[0].inputs[0] = sum
        }
    }

    @Test func shapesThatDoNotFitAreFormatErrors() throws {
        try Self.expectRejected("dense shapes do not fit") { file in
            let out = file.nodes[0].outputs[0]
            file.values[out].shape = [15]
        }
        try Self.expectRejected("add, mul and sub need two float inputs") { file in
            file.nodes[3].inputs[1] = file.nodes[1].outputs[0] // 16 values added to 12
        }
        try Self.expectRejected("wrong number of inputs") { $0.nodes[3].inputs.removeLast() }
    }

    @Test func argumentsOutOfRangeAreFormatErrors() throws {
        let g = GraphBuilder()
        let x = g.input("x", shape: [1, 8, 8])
        let y = try g.maxPool2d(x, PoolSpec(window: (2, 2), stride: (2, 2)), name: "pool")
        g.output(y)
        let graph = try g.build()
        let description = ModelWriter.Description(inputShape: (1, 8, 8), outputKind: .values, inputEncoding: .floats)
        let good = try ModelWriter.graphFile(graph, values: [:])
        _ = try OpenModel(try ModelWriter.serialise(graph: good, description: description))
        var bad = good
        bad.nodes[0].arguments = [("window", .ints([0, 2, 2, 2]))]
        try Self.expectFormatError(try ModelWriter.serialise(graph: bad, description: description), "window")
        bad.nodes[0].arguments = [("window", .ints([9, 2, 2, 2]))]
        try Self.expectFormatError(try ModelWriter.serialise(graph: bad, description: description), "window")
        bad.nodes[0].arguments = []
        try Self.expectFormatError(try ModelWriter.serialise(graph: bad, description: description), "window")
        // An argument range past the table.
        var bytes = try ModelWriter.serialise(graph: good, description: description)
        let nodeTable = Int(Self.u64(bytes, 32))
        Self.put32(&bytes, nodeTable + 60, 7)
        Self.reseal(&bytes)
        try Self.expectFormatError(bytes, "arguments outside the argument table")
    }

    /// The classic models' nodes: bad kernel, vote and neighbour arguments. (Negative integers
    /// were found by the fuzzer: version 1's fields are unsigned, version 2's signed.)
    @Test func classicArgumentsOutOfRangeAreFormatErrors() throws {
        let description = ModelWriter.Description(inputShape: (1, 1, 2), outputKind: .scores, inputEncoding: .floats)
        let kernel = try Self.stageFile([
            .kernel(.gaussian(sigma: 2), points: [0, 0, 1, 0, 0, 1], count: 3, dimension: 2),
            .dense(weight: [1, 1, 0, -1, 0, 1, 0, -1, -1], bias: [0, 0, 0.1], inputs: 3, outputs: 3),
            .pairwiseVote(classes: 3),
        ])
        _ = try OpenModel(try ModelWriter.serialise(graph: kernel, description: description))
        for (index, name, value, expected) in [(0, "kernel", GraphFile.Argument.ints([9, 0]), "unknown kernel"),
                                               (0, "sigma", .floats([-1]), "unknown kernel"),
                                               (0, "sigma", .ints([1]), "unknown kernel"),
                                               (2, "classes", .ints([4]), "vote lengths"),
                                               (2, "classes", .ints([-3]), "vote lengths")] {
            var bad = kernel
            let k = bad.nodes[index].arguments.firstIndex { $0.name == name }!
            bad.nodes[index].arguments[k].value = value
            try Self.expectFormatError(try ModelWriter.serialise(graph: bad, description: description), expected)
        }
        let knn = try Self.stageFile([
            .nearestNeighbours(points: [0, 0, 1, 0, 5, 5, 1, 1], targets: [0, 1, 2, 1], count: 4, dimension: 2, k: 3, metric: .l1,
                               mode: .classify(classes: 3)),
        ])
        _ = try OpenModel(try ModelWriter.serialise(graph: knn, description: description))
        for (name, value, expected) in [("k", GraphFile.Argument.ints([0]), "k out of range"), ("k", .ints([-1]), "k out of range"),
                                        ("metric", .ints([-2]), "unknown distance"), ("mode", .ints([7]), "unknown neighbour mode"),
                                        ("classes", .ints([4]), "class count"), ("k", .floats([3]), "arguments missing")] {
            var bad = knn
            let k = bad.nodes[0].arguments.firstIndex { $0.name == name }!
            bad.nodes[0].arguments[k].value = value
            try Self.expectFormatError(try ModelWriter.serialise(graph: bad, description: description), expected)
        }
    }

    static func stageFile(_ stages: [ModelStage]) throws -> GraphFile {
        let stageGraph = try StageGraph(stages: stages, inputs: 2)
        return try ModelWriter.graphFile(stageGraph.graph, values: stageGraph.values)
    }

    @Test func planOutsideItsBytesIsAFormatError() throws {
        try Self.expectRejected("outside the plan") { file in
            let out = file.nodes[0].outputs[0]
            file.values[out].arenaOffset = file.planBytes
        }
    }

    /// Every truncation and a sweep of single-byte corruptions fail cleanly (the checksum is
    /// recomputed after each change, so the structural checks are what stop them).
    @Test func corruptionsNeverCrash() throws {
        let (graph, values, _) = try Self.residualGraph()
        let file = try ModelWriter.graphFile(graph, values: values)
        let good = try ModelWriter.serialise(graph: file, description: .init(inputShape: (1, 1, 12), outputKind: .values, inputEncoding: .floats))
        for length in stride(from: 0, to: good.count, by: 7) {
            Array(good.prefix(length)).withUnsafeBytes { raw in
                var needed = 0
                #expect(infer_arena_size(raw.baseAddress, raw.count, &needed) != 0)
            }
        }
        let tablesEnd = Int(Self.u64(good, 104)) // the tensor table: everything before it is structure
        var rng = SeededRandom(seed: 1)
        for offset in 8..<tablesEnd {
            var bytes = good
            bytes[offset] ^= UInt8(1 + Int(rng.uniform(0, 254)))
            Self.reseal(&bytes)
            let accepted = bytes.withUnsafeBytes { raw -> Bool in
                var needed = 0
                return infer_arena_size(raw.baseAddress, raw.count, &needed) == 0 && needed < 1 << 26
            }
            // Some bytes (names, reserved fields, a larger plan) may change freely; the model must
            // then still run.
            if accepted, let opened = try? OpenModel(bytes) { _ = opened.run([Float](repeating: 0.5, count: infer_input_len(opened.handle))) }
        }
    }

    // MARK: - Byte helpers

    static func u64(_ bytes: [UInt8], _ offset: Int) -> UInt64 {
        (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * UInt64($1)) }
    }

    static func put32(_ bytes: inout [UInt8], _ offset: Int, _ value: UInt32) {
        for i in 0..<4 { bytes[offset + i] = UInt8(truncatingIfNeeded: value >> (8 * UInt32(i))) }
    }

    /// Recomputes the trailing CRC-32.
    static func reseal(_ bytes: inout [UInt8]) {
        var crc: UInt32 = 0xFFFF_FFFF // CRC-32 (ISO-HDLC), bit by bit: slow and plain
        for byte in bytes.dropLast(4) {
            crc ^= UInt32(byte)
            for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
        }
        put32(&bytes, bytes.count - 4, ~crc)
    }
}

extension Array where Element == Float {
    /// Softmax, as the runtime applies it to a probability model's output.
    func softmaxed() -> [Float] {
        var out = self
        Kernels.softmaxRows(self, into: &out, rows: 1, columns: count)
        return out
    }
}
