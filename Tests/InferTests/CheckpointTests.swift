import Testing
import Foundation
import Infer
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
