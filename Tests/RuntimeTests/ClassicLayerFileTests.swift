import Testing
import Foundation
import Infer
import Training
import ModelFile
import InferC
import LowLevel

/// The classic models' layer kinds (kernel, pairwise vote, nearest neighbours) in version-1 files:
/// hand-checked outputs through the C interface, and corrupt records rejected. (Version 2 of the
/// same models runs in every classic model's runtime check; its corrupt records in GraphFileTests.)
@Suite struct ClassicLayerFileTests {
    static var description: ModelWriter.Description { ModelWriter.Description(inputShape: (1, 1, 2), outputKind: .scores, inputEncoding: .floats) }

    /// A 3-class kernel machine: standardise, RBF kernel against 3 points, pair coefficients, vote.
    func kernelMachine() throws -> [UInt8] {
        try ModelWriter.encode(stages: [
            .affine(scale: [2, 1], shift: [0, -1]),
            .kernel(.gaussian(sigma: 2), points: [0, 0, 1, 0, 0, 1], count: 3, dimension: 2),
            // Pairs (0,1), (0,2), (1,2): decision = K·column + bias.
            .dense(weight: [1, 1, 0, -1, 0, 1, 0, -1, -1], bias: [0, 0, 0.1], inputs: 3, outputs: 3),
            .pairwiseVote(classes: 3),
        ], description: Self.description, version: 1)
    }

    func neighbours(labels: [Float] = [0, 1, 2, 1], k: Int = 3, classes: Int = 3, mode: NeighbourMode? = nil) throws -> [UInt8] {
        try ModelWriter.encode(stages: [
            .nearestNeighbours(points: [0, 0, 1, 0, 5, 5, 1, 1], targets: labels, count: 4, dimension: 2, k: k, metric: .l1,
                               mode: mode ?? .classify(classes: classes)),
        ], description: ModelWriter.Description(inputShape: (1, 1, 2), outputKind: mode == nil ? .scores : .values, inputEncoding: .floats),
           version: 1)
    }

    func run(_ bytes: [UInt8], _ input: [Float], outputs: Int) throws -> [Float] {
        let file = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 64)
        defer { file.deallocate() }
        file.copyBytes(from: bytes)
        var needed = 0
        try #require(infer_arena_size(file.baseAddress, bytes.count, &needed) == 0, "\(String(cString: infer_last_error()))")
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: needed, alignment: 16)
        defer { arena.deallocate() }
        var handle: OpaquePointer?
        try #require(infer_open(file.baseAddress, bytes.count, arena.baseAddress, needed, &handle) == 0)
        var out = [Float](repeating: 0, count: outputs)
        try #require(infer_run(handle, input, input.count, &out, outputs) == 0)
        return out
    }

    @Test func kernelMachineOutputsMatchAHandComputation() throws {
        let x: [Float] = [0.4, 1.2]
        let z = [x[0] * 2, x[1] - 1] // standardised: (0.8, 0.2)
        let points: [[Float]] = [[0, 0], [1, 0], [0, 1]]
        let k = points.map { p in expf(-((z[0] - p[0]) * (z[0] - p[0]) + (z[1] - p[1]) * (z[1] - p[1])) / 2) }
        // W's rows belong to kernel outputs, its columns to the pairs (0,1), (0,2), (1,2).
        let d01 = k[0] - k[1], d02 = k[0] - k[2], d12 = k[1] - k[2] + 0.1
        // k ≈ (0.712, 0.961, 0.527): pair (0,1) votes 1, (0,2) votes 0, (1,2) votes 1.
        #expect(d01 < 0 && d02 > 0 && d12 > 0)
        let s0 = d01 + d02, s1 = -d01 + d12, s2 = -d02 - d12
        let expected: [Float] = [1 + s0 / (3 * (abs(s0) + 1)), 2 + s1 / (3 * (abs(s1) + 1)), 0 + s2 / (3 * (abs(s2) + 1))]
        let out = try run(kernelMachine(), x, outputs: 3)
        for i in 0..<3 { #expect(abs(out[i] - expected[i]) < 1e-6) }
    }

    @Test func neighbourOutputsMatchAHandComputation() throws {
        // From (0.9, 0.2), L1: point 1 (0.3), point 3 (0.9), point 0 (1.1), point 2 (8.9).
        #expect(try run(neighbours(), [0.9, 0.2], outputs: 3) == [1.0 / 3, 2.0 / 3, 0])
        #expect(try run(neighbours(labels: [1, 2, 3, 4], k: 2, mode: .regress), [0.9, 0.2], outputs: 1) == [3])
    }

    /// Offsets of the first layer record's fields.
    static func arg(_ i: Int, layer: Int = 0) -> Int { 128 + layer * 64 + 12 + 4 * i }

    @Test func corruptKernelAndVoteRecordsAreRejected() throws {
        let good = try kernelMachine()
        #expect(status(good) == 0)
        var edits: [(String, (inout [UInt8]) -> Void)] = [
            ("unknown kernel", { put32(&$0, Self.arg(1, layer: 1), 9) }),
            ("NaN sigma", { put32(&$0, Self.arg(3, layer: 1), Float.nan.bitPattern) }),
            ("negative sigma", { put32(&$0, Self.arg(3, layer: 1), Float(-1).bitPattern) }),
            ("points tensor index out of range", { put32(&$0, Self.arg(0, layer: 1), 99) }),
            ("points tensor of the wrong shape", { put32(&$0, Self.arg(0, layer: 1), 0) }),
            ("vote class count off", { put32(&$0, Self.arg(0, layer: 3), 4) }),
        ]
        edits.append(("zero-degree polynomial", { b in
            put32(&b, Self.arg(1, layer: 1), 2); put32(&b, Self.arg(2, layer: 1), 0)
        }))
        for (name, edit) in edits {
            var b = good
            edit(&b)
            #expect(status(resealed(b)) == 2, "\(name)")
        }
    }

    @Test func corruptNeighbourRecordsAreRejected() throws {
        #expect(status(try neighbours()) == 0)
        let good = try neighbours()
        // Labels are checked by the writer too, so these are edited into the file: the targets
        // are tensor 1, whose data offset sits at byte 72 of its 96-byte record.
        let tensorTable = Int(good.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: 32, as: UInt64.self) })
        let targets = Int(good.withUnsafeBytes { $0.loadUnaligned(fromByteOffset: tensorTable + 96 + 72, as: UInt64.self) })
        for (name, label) in [("label not a class", Float(3)), ("fractional label", 0.5), ("negative label", -1), ("NaN label", .nan)] {
            var b = good
            put32(&b, targets + 8, label.bitPattern)
            #expect(status(resealed(b)) == 2, "\(name)")
        }
        let edits: [(String, Int, UInt32)] = [
            ("k = 0", 2, 0), ("k above the points", 2, 5), ("unknown metric", 3, 7), ("unknown mode", 4, 9),
            ("classes off", 5, 4), ("targets tensor index out of range", 1, 77), ("points index out of range", 0, 77),
        ]
        for (name, field, value) in edits {
            var b = good
            put32(&b, Self.arg(field), value)
            #expect(status(resealed(b)) == 2, "\(name)")
        }
        // Local linear regression is limited to 64 inputs.
        let wide = try ModelWriter.encode(stages: [
            .nearestNeighbours(points: [Float](repeating: 1, count: 65), targets: [1], count: 1, dimension: 65, k: 1, metric: .l2,
                               mode: .kernelSmoothing(.gaussian(sigma: 1))),
        ], description: ModelWriter.Description(inputShape: (1, 1, 65), outputKind: .values, inputEncoding: .floats), version: 1)
        #expect(status(wide) == 0)
        var b = wide
        put32(&b, Self.arg(4), 4)
        put32(&b, Self.arg(9), Float(1).bitPattern)
        #expect(status(resealed(b)) == 2)
    }
}
