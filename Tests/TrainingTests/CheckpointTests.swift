import Testing
import Foundation
import Training
import ModelFile
import InferTools
import LowLevel

@Suite struct CheckpointTests {
    init() { BLAS.configure(threads: 1) }

    private func trainedRun() throws -> TrainingRun {
        let data = ClassificationSet(images: try loadSample().train.prefix(128))
        let config = TrainingConfig(epochs: 1, batchSize: 32, learningRate: 0.01, schedule: .constant,
                                    optimizer: OptimizerConfig(kind: .adam), seed: 2)
        let run = try TrainingRun(spec: .mlp(inputs: 784, hidden: [8], outputs: 10), config: config, sampleCount: 128)
        _ = try run.run(train: data, test: nil, measureTrainAccuracy: false)
        return run
    }

    @Test func roundTripsEverything() throws {
        let run = try trainedRun()
        let bytes = try Checkpoint(trainer: run.trainer).encoded()
        let back = try Checkpoint(decoding: bytes)
        #expect(back.header.network == run.network.spec)
        #expect(back.header.training == run.trainer.config)
        #expect(back.header.epoch == 1 && back.header.optimizerStep == 4)
        #expect(back.rng == run.trainer.rng)
        for p in run.network.parameters { #expect(back.tensors[p.name] == Array(p.value)) }
        #expect(back.tensors.count == 3 * run.network.parameters.count) // weights + Adam m and s
        // Tensor data starts 64-byte aligned.
        #expect(bytes.count % 64 == 4)
    }

    /// The per-epoch writer's file (fixed-width header fields, filled in place) reads back as
    /// the same checkpoint as `Checkpoint(trainer:)`, after every epoch, including counters of
    /// different widths.
    @Test func writerFilesReadBackAsTheTrainersCheckpoint() throws {
        let run = try trainedRun()
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/w.ckpt"
        let writer = try CheckpointWriter(trainer: run.trainer, path: path)
        let data = ClassificationSet(images: try loadSample().train.prefix(128))
        for round in 0..<3 {
            if round == 2 { run.trainer.optimizer.step = 123_456_789_012 } // a counter 12 digits wide
            try writer.write()
            let back = try Checkpoint.read(path: path)
            let direct = try Checkpoint(decoding: try Checkpoint(trainer: run.trainer).encoded())
            #expect(back.header.epoch == run.trainer.epoch && back.header.optimizerStep == run.trainer.optimizer.step)
            #expect(back.rng == run.trainer.rng && back.rng == direct.rng)
            #expect(back.header.dropoutRngState == direct.header.dropoutRngState.map { $0.map { String(repeating: "0", count: 16 - $0.count) + $0 } })
            #expect(back.header.network == direct.header.network && back.header.training == direct.header.training)
            #expect(back.tensors == direct.tensors)
            _ = try run.trainer.trainEpoch(on: data)
        }
    }

    @Test func corruptOrTruncatedFilesAreRejected() throws {
        let bytes = try Checkpoint(trainer: try trainedRun().trainer).encoded()
        for length in [0, 7, 8, 24, 100, bytes.count / 2, bytes.count - 1] {
            #expect(throws: CheckpointError.self, "truncated to \(length)") { try Checkpoint(decoding: Array(bytes.prefix(length))) }
        }
        for position in [0, 9, 30, bytes.count / 2, bytes.count - 10] {
            var flipped = bytes
            flipped[position] ^= 0x40
            #expect(throws: CheckpointError.self, "byte \(position) flipped") { try Checkpoint(decoding: flipped) }
        }
        var future = bytes
        future[8] = 9
        do { _ = try Checkpoint(decoding: future); Issue.record("version 9 accepted") } catch {
            #expect(error.message.contains("version 9"))
        }
    }

    @Test func writesAtomicallyAndKeepsTheOldFileOnFailure() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/a.ckpt"
        try AtomicFile.write([1, 2, 3], to: path)
        #expect(try AtomicFile.read(path) == [1, 2, 3])
        try AtomicFile.write([4, 5], to: path)
        #expect(try AtomicFile.read(path) == [4, 5])
        // A directory in the way of the rename: the write fails, nothing is left behind.
        try FileManager.default.createDirectory(atPath: dir + "/blocked", withIntermediateDirectories: false)
        try Data([9]).write(to: URL(fileURLWithPath: dir + "/blocked/file"))
        #expect(throws: FileError.self) { try AtomicFile.write([7], to: dir + "/blocked") }
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["a.ckpt", "blocked"])
        #expect(throws: FileError.self) { try AtomicFile.write([7], to: dir + "/missing-dir/x") }
    }

    @Test func restoreRejectsAMismatchedNetwork() throws {
        let run = try trainedRun()
        let checkpoint = Checkpoint(trainer: run.trainer)
        let other = try TrainingRun(spec: .mlp(inputs: 784, hidden: [9], outputs: 10), config: run.trainer.config, sampleCount: 128)
        #expect(throws: CheckpointError.self) { try checkpoint.restore(into: other.trainer) }
    }
}

/// The allocation-free report line formats numbers as printf does for the values a report shows.
@Suite struct TextLineTests {
    @Test func numbersMatchPrintf() {
        let storage = UnsafeMutablePointer<UInt8>.allocate(capacity: TextLine.capacity)
        defer { storage.deallocate() }
        for (value, decimals) in [(0.24149, 4), (96.7233, 2), (-3.14159, 3), (254080.348, 0), (0.5, 0), (1.5, 0), (0.00004, 4),
                                  (-0.00004, 4), (123456789.125, 2), (9.99999, 2), (100, 2)] as [(Double, Int)] {
            var line = TextLine(storage: storage)
            line.append(value, decimals: decimals)
            #expect(line.text == String(format: "%.\(decimals)f", value), "\(value) with \(decimals) decimals")
        }
        var line = TextLine(storage: storage)
        line.append("epoch "); line.append(-12); line.append(" lr "); line.append(significant: 0.05, digits: 6)
        line.append(" "); line.append(significant: 0.005, digits: 6); line.append(" "); line.append(significant: 12.5, digits: 6)
        line.append(" "); line.append(significant: 1e-4, digits: 6); line.append(" "); line.append(Double.nan, decimals: 2)
        #expect(line.text == "epoch -12 lr 0.05 0.005 12.5 0.0001 nan")
    }
}

/// The `--json` writer: keys sorted, integral numbers without ".0", NaN and infinities as null,
/// strings escaped, nesting kept; the text parses back to the same values.
@Suite struct JSONTextTests {
    @Test func encodesSortedValidJSON() throws {
        let value: [String: Any] = ["zeta": 1, "alpha": [1.5, Double.nan, -Double.infinity, 3.0], "mid": ["b": true, "a": "q\"\\\n\u{1}é"],
                                    "n": -7, "f": Float(0.25), "big": UInt64(1) << 63]
        let text = JSONText.encode(value)
        #expect(text.hasPrefix("{\"alpha\":[1.5,null,null,3],\"big\":9223372036854775808,\"f\":0.25,\"mid\":{\"a\":"), "\(text)")
        let back = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
        #expect(back["zeta"] as? Int == 1 && back["n"] as? Int == -7)
        #expect((back["mid"] as? [String: Any])?["a"] as? String == "q\"\\\n\u{1}é")
        #expect((back["alpha"] as? [Any])?.count == 4 && (back["alpha"] as? [Any])?[1] is NSNull)
        #expect(Array(text.utf8).filter { $0 < 0x20 }.isEmpty, "control characters are escaped")
    }
}
