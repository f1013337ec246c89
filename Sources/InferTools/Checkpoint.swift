import LowLevel
import Foundation
import Infer
import Training
import ModelFile
import CZlib

/// Why a checkpoint could not be read or applied.
public struct CheckpointError: Error, CustomStringConvertible {
    public let message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A training checkpoint: the network description, hyper-parameters, weights, optimizer state,
/// update count, completed epochs and the random generator's state: everything needed to continue
/// a run and end with exactly the weights an uninterrupted run would have.
///
/// File layout (little-endian):
/// ```
/// 0   8  magic "INFCKPT\0"
/// 8   4  format version (1)
/// 12  4  reserved, 0
/// 16  8  header length H
/// 24  H  header: UTF-8 JSON (Checkpoint.Header)
/// ..     zero padding to a multiple of 64
/// ..     tensors: float32 data in header order, each padded to a multiple of 64 bytes
/// end-4  CRC-32 (zlib polynomial) of every byte before it
/// ```
public struct Checkpoint {
    public static let magic: [UInt8] = Array("INFCKPT".utf8) + [0]
    public static let version: UInt32 = 1

    public struct TensorEntry: Codable, Equatable {
        public var name: String
        public var count: Int
        public var offset: Int
    }

    public struct Header: Codable {
        public var network: NetworkSpec
        public var training: TrainingConfig
        public var epoch: Int
        public var optimizerStep: Int
        /// xoshiro256** state words in hex (JSON numbers lose 64-bit precision in some readers).
        public var rngState: [String]
        /// The network's dropout generator, in hex (absent in files without dropout state).
        public var dropoutRngState: [String]?
        /// Early stopping's counters (absent without a validation split); the best epoch's
        /// weights are the tensors named "best.<name>".
        public var earlyStopping: EarlyStoppingState?
        public var tensors: [TensorEntry]
    }

    public struct EarlyStoppingState: Codable, Equatable {
        public var bestEpoch: Int
        public var epochsWithoutImprovement: Int
        /// The best validation loss's bit pattern in hex (exact, and NaN-safe).
        public var bestLossBits: String
    }

    public var header: Header
    /// Tensor values by name.
    public var tensors: [String: [Float]]

    /// The trainer's tensors under their checkpoint names, in file order: each parameter with
    /// its optimizer state ("optimizer.<slot>.<name>"), the buffers ("state.<name>"), and early
    /// stopping's best copies ("best.<name>"). The memory is the trainer's own.
    static func namedTensors(of trainer: Trainer) -> [(name: String, values: UnsafeMutableBufferPointer<Float>)] {
        var named: [(name: String, values: UnsafeMutableBufferPointer<Float>)] = []
        for (index, p) in trainer.network.parameters.enumerated() {
            named.append((p.name, p.value))
            for (slot, state) in trainer.optimizer.state[index].enumerated() { named.append(("optimizer.\(slot).\(p.name)", state)) }
        }
        for buffer in trainer.network.buffers { named.append(("state.\(buffer.name)", buffer.values)) }
        named += trainer.earlyStopping?.savedTensors ?? []
        return named
    }

    /// Sets each entry's offset in the tensor area (each tensor padded to 64 bytes); returns the
    /// area's size.
    static func assignOffsets(_ entries: inout [TensorEntry]) -> Int {
        var offset = 0
        for i in entries.indices {
            entries[i].offset = offset
            offset += padded(entries[i].count * 4)
        }
        return offset
    }

    /// The bytes in front of the tensors: magic, version, reserved word, header length, the
    /// header's JSON, and zero padding to a multiple of 64.
    static func prefix(json: [UInt8]) -> [UInt8] {
        var out = magic
        append(&out, version)
        append(&out, UInt32(0))
        append(&out, UInt64(json.count))
        out += json
        return out + [UInt8](repeating: 0, count: padded(out.count) - out.count)
    }

    /// Captures the trainer's complete state.
    public init(trainer: Trainer) {
        var tensors: [String: [Float]] = [:]
        var entries: [TensorEntry] = []
        for (name, values) in Self.namedTensors(of: trainer) {
            entries.append(TensorEntry(name: name, count: values.count, offset: 0))
            tensors[name] = Array(values)
        }
        var early: EarlyStoppingState? = nil
        if let stopping = trainer.earlyStopping {
            early = EarlyStoppingState(bestEpoch: stopping.bestEpoch, epochsWithoutImprovement: stopping.epochsWithoutImprovement,
                                       bestLossBits: String(UInt64(stopping.bestLoss.bitPattern), radix: 16))
        }
        header = Header(network: trainer.network.spec, training: trainer.config, epoch: trainer.epoch,
                        optimizerStep: trainer.optimizer.step,
                        rngState: Self.hex(trainer.rng),
                        dropoutRngState: Self.hex(trainer.network.dropoutRandom.pointee),
                        earlyStopping: early, tensors: entries)
        self.tensors = tensors
    }

    /// The random generator state saved in the header.
    public var rng: RandomGenerator? { Self.generator(hex: header.rngState) }

    /// Serialises to the file layout above.
    public func encoded() throws -> [UInt8] {
        var header = self.header
        // Offsets are relative to the start of the tensor area.
        _ = Self.assignOffsets(&header.tensors)
        return Self.sealed(json: try Self.headerJSON(header), entries: header.tensors, tensors: tensors)
    }

    /// The file for a header's JSON and its tensors (`entries` with their offsets assigned).
    static func sealed(json: [UInt8], entries: [TensorEntry], tensors: [String: [Float]]) -> [UInt8] {
        var out = prefix(json: json)
        for entry in entries {
            let values = tensors[entry.name]!
            values.withUnsafeBytes { out += $0 }
            out += [UInt8](repeating: 0, count: padded(values.count * 4) - values.count * 4)
        }
        append(&out, crc(out))
        return out
    }

    /// The header as the file holds it: JSON with sorted keys.
    static func headerJSON(_ header: Header) throws -> [UInt8] {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Array(try encoder.encode(header))
    }

    /// Parses and validates a checkpoint file's bytes.
    public init(decoding bytes: [UInt8], path: String = "checkpoint") throws(CheckpointError) {
        let (json, dataStart) = try Self.opened(bytes, path: path)
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: json) } catch {
            throw CheckpointError("\(path): unreadable header (is it a checkpoint of this kind of model?): \(error)")
        }
        self.header = header
        self.tensors = try Self.tensors(header.tensors, in: bytes, from: dataStart, path: path)
    }

    /// The header's JSON and where the tensor area starts, after the magic, version, length and
    /// checksum checks.
    static func opened(_ bytes: [UInt8], path: String) throws(CheckpointError) -> (json: Data, dataStart: Int) {
        func fail(_ why: String) -> CheckpointError { CheckpointError("\(path): \(why)") }
        guard bytes.count >= 28 else { throw fail("too short to be a checkpoint (\(bytes.count) bytes)") }
        guard Array(bytes[0..<8]) == Self.magic else { throw fail("not a checkpoint (bad magic)") }
        let version: UInt32 = readLE(bytes, 8)
        guard version == Self.version else { throw fail("checkpoint format version \(version) is not supported (this build reads \(Self.version))") }
        let stored: UInt32 = readLE(bytes, bytes.count - 4)
        guard stored == crc(bytes[0..<(bytes.count - 4)]) else { throw fail("checksum mismatch: the file is corrupt or truncated") }
        let headerLength: UInt64 = readLE(bytes, 16)
        guard headerLength <= UInt64(bytes.count - 28) else { throw fail("header length \(headerLength) runs past the end") }
        return (Data(bytes[24..<(24 + Int(headerLength))]), padded(24 + Int(headerLength)))
    }

    /// The tensors `entries` name, read from the tensor area at `dataStart`.
    static func tensors(_ entries: [TensorEntry], in bytes: [UInt8], from dataStart: Int, path: String) throws(CheckpointError) -> [String: [Float]] {
        func fail(_ why: String) -> CheckpointError { CheckpointError("\(path): \(why)") }
        var tensors: [String: [Float]] = [:]
        for entry in entries {
            guard entry.count >= 0, entry.offset >= 0, entry.count < 1 << 36, entry.offset < 1 << 40 else {
                throw fail("tensor \(entry.name) has an impossible size or offset")
            }
            let start = dataStart + entry.offset, end = start + entry.count * 4
            guard end <= bytes.count - 4 else { throw fail("tensor \(entry.name) runs past the end of the file") }
            tensors[entry.name] = bytes[start..<end].withUnsafeBytes { Array($0.bindMemory(to: Float.self)) }
        }
        return tensors
    }

    public static func read(path: String) throws -> Checkpoint {
        try Checkpoint(decoding: try AtomicFile.read(path), path: path)
    }

    public func write(to path: String) throws {
        try AtomicFile.write(try encoded(), to: path)
    }

    /// Copies weights, optimizer state, counters and RNG state into `trainer`, whose network must
    /// have been built from the same description with the same optimizer kind.
    public func restore(into trainer: Trainer) throws(CheckpointError) {
        guard header.network == trainer.network.spec else {
            throw CheckpointError("the checkpoint's network differs from the one being trained")
        }
        guard header.training.optimizer.kind == trainer.config.optimizer.kind else {
            throw CheckpointError("the checkpoint was trained with \(header.training.optimizer.kind.rawValue), not \(trainer.config.optimizer.kind.rawValue)")
        }
        guard let rng else { throw CheckpointError("the checkpoint's random generator state is invalid") }
        for (index, p) in trainer.network.parameters.enumerated() {
            try copy(p.name, into: p.value)
            for (slot, state) in trainer.optimizer.state[index].enumerated() {
                try copy("optimizer.\(slot).\(p.name)", into: state)
            }
        }
        for buffer in trainer.network.buffers { try copy("state.\(buffer.name)", into: buffer.values) }
        if let words = header.dropoutRngState?.compactMap({ UInt64($0, radix: 16) }), let dropout = RandomGenerator(state: words) {
            trainer.network.dropoutRandom.pointee = dropout
        }
        if let stopping = trainer.earlyStopping {
            guard let state = header.earlyStopping, let bits = UInt64(state.bestLossBits, radix: 16), bits <= UInt64(UInt32.max) else {
                throw CheckpointError("the checkpoint has no early-stopping state, which its validation split needs")
            }
            for (name, values) in stopping.savedTensors { try copy(name, into: values) }
            stopping.restore(bestLoss: Float(bitPattern: UInt32(bits)), bestEpoch: state.bestEpoch,
                             epochsWithoutImprovement: state.epochsWithoutImprovement)
        }
        trainer.optimizer.step = header.optimizerStep
        trainer.epoch = header.epoch
        trainer.rng = rng
    }

    /// Copies the run's result into a network of the same description: the best validation
    /// epoch's weights when the run stops early (and has recorded an epoch), else the current
    /// parameters and buffers (not optimizer state).
    public func restoreWeights(into network: Network) throws(CheckpointError) {
        guard header.network == network.spec else {
            throw CheckpointError("the checkpoint's network differs from this one")
        }
        let best = (header.earlyStopping?.bestEpoch ?? 0) > 0
        for p in network.parameters { try copy(best ? "best.\(p.name)" : p.name, into: p.value) }
        for buffer in network.buffers { try copy(best ? "best.\(buffer.name)" : "state.\(buffer.name)", into: buffer.values) }
    }

    private func copy(_ name: String, into target: UnsafeMutableBufferPointer<Float>) throws(CheckpointError) {
        guard let values = tensors[name] else { throw CheckpointError("the checkpoint has no tensor \(name)") }
        guard values.count == target.count else {
            throw CheckpointError("tensor \(name) has \(values.count) values, the network expects \(target.count)")
        }
        _ = target.update(fromContentsOf: values)
    }
}

/// `n` rounded up to the file's 64-byte alignment.
func padded(_ n: Int) -> Int { (n + 63) & ~63 }

private func append<T: FixedWidthInteger>(_ out: inout [UInt8], _ value: T) {
    withUnsafeBytes(of: value.littleEndian) { out += $0 }
}

private func readLE<T: FixedWidthInteger>(_ bytes: [UInt8], _ at: Int) -> T {
    var value: T = 0
    withUnsafeMutableBytes(of: &value) { $0.copyBytes(from: bytes[at..<(at + MemoryLayout<T>.size)]) }
    return T(littleEndian: value)
}

private func crc<C: Collection>(_ bytes: C) -> UInt32 where C.Element == UInt8 {
    let contiguous = Array(bytes)
    return contiguous.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
}
