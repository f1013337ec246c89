import Foundation
import Infer
import Training
import ModelFile
import CZlib

/// Writes a trainer's checkpoint after every epoch without allocating: the file (the layout of
/// `Checkpoint`) is laid out once in one buffer, and each write copies the tensors into it,
/// fills in the fields that change (epoch, update count, random-generator states), computes the
/// CRC and writes the buffer atomically.
///
/// The header's JSON is encoded once with fixed-width fields: numbers are right-aligned in 20
/// characters behind spaces (whitespace JSON allows) and generator words are 16 hex digits, so
/// later values always fit in place. `Checkpoint(decoding:)` reads these files like any other.
public final class CheckpointWriter {
    private let trainer: Trainer
    private let bytes: UnsafeMutableRawBufferPointer
    /// Where each tensor's floats go, in the trainer's memory and in the file.
    private let tensors: [(source: UnsafeMutableBufferPointer<Float>, offset: Int)]
    private let epochField: Int, stepField: Int
    private let rngFields: [Int], dropoutFields: [Int]
    /// Early stopping's fields (best epoch, epochs since, best loss bits), when it has them.
    private let earlyFields: (best: Int, since: Int, loss: Int)?
    private let path: [CChar], temporary: [CChar]

    static let numberWidth = 20
    private static let epochMark = 9_111_111_111_111_111_111 as UInt64
    private static let stepMark = 9_222_222_222_222_222_222 as UInt64
    private static let bestMark = 9_133_333_333_333_333_333 as UInt64
    private static let sinceMark = 9_144_444_444_444_444_444 as UInt64
    private static let lossMark = "lossxxxxxxxxxxxx"
    private static func wordMark(_ i: Int, dropout: Bool) -> String { "\(dropout ? "d" : "r")\(i)" + String(repeating: "x", count: 14) }

    /// Lays out the checkpoint of `trainer` for `path` (allocates; later writes do not).
    public init(trainer: Trainer, path: String) throws {
        self.trainer = trainer
        AtomicFile.removeStaleTemporaries(of: path)
        self.path = Array(path.utf8CString)
        temporary = Array("\(path).tmp-\(getpid())".utf8CString)
        var template = Checkpoint(trainer: trainer)
        let tensorBytes = Checkpoint.assignOffsets(&template.header.tensors)
        template.header.epoch = Int(Self.epochMark)
        template.header.optimizerStep = Int(Self.stepMark)
        template.header.rngState = (0..<trainer.rng.state.count).map { Self.wordMark($0, dropout: false) }
        template.header.dropoutRngState = (0..<trainer.network.dropoutRandom.pointee.state.count).map { Self.wordMark($0, dropout: true) }
        if template.header.earlyStopping != nil {
            template.header.earlyStopping = Checkpoint.EarlyStoppingState(bestEpoch: Int(Self.bestMark), epochsWithoutImprovement: Int(Self.sinceMark),
                                                                          bestLossBits: Self.lossMark)
        }
        let numberMarks = [Self.epochMark, Self.stepMark] + (template.header.earlyStopping != nil ? [Self.bestMark, Self.sinceMark] : [])
        var json = try Checkpoint.headerJSON(template.header)
        // Widen the two numbers to their fixed width, then find every field.
        for mark in numberMarks {
            let digits = Array(String(mark).utf8)
            let at = try Self.find(digits, in: json)
            json.replaceSubrange(at..<(at + digits.count), with: [UInt8](repeating: 0x20, count: Self.numberWidth - digits.count) + digits)
        }
        let prefix = Checkpoint.prefix(json: json)
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: prefix.count + tensorBytes + 4, alignment: 64)
        bytes.initializeMemory(as: UInt8.self, repeating: 0)
        bytes.copyBytes(from: prefix)
        // Field offsets in the file: the JSON starts after the 24-byte fixed header; a number's
        // field starts where its widened, right-aligned text begins.
        func text(_ mark: String) throws -> Int { 24 + (try Self.find(Array(mark.utf8), in: json)) }
        func number(_ mark: UInt64) throws -> Int { try text(String(mark)) - (Self.numberWidth - String(mark).count) }
        epochField = try number(Self.epochMark)
        stepField = try number(Self.stepMark)
        rngFields = try (0..<trainer.rng.state.count).map { try text(Self.wordMark($0, dropout: false)) }
        dropoutFields = try (0..<trainer.network.dropoutRandom.pointee.state.count).map { try text(Self.wordMark($0, dropout: true)) }
        earlyFields = template.header.earlyStopping == nil ? nil
            : (try number(Self.bestMark), try number(Self.sinceMark), try text(Self.lossMark))
        // The named tensors come in the header's order.
        tensors = zip(Checkpoint.namedTensors(of: trainer), template.header.tensors).map { ($0.values, prefix.count + $1.offset) }
    }

    deinit { bytes.deallocate() }

    /// Writes the trainer's current state to the path, atomically (see `AtomicFile`).
    public func write() throws(FileError) {
        for (source, offset) in tensors {
            (bytes.baseAddress! + offset).copyMemory(from: source.baseAddress!, byteCount: source.count * 4)
        }
        putNumber(UInt64(trainer.epoch), at: epochField)
        putNumber(UInt64(trainer.optimizer.step), at: stepField)
        for (i, at) in rngFields.enumerated() { putHex(trainer.rng.stateWord(i), at: at) }
        for (i, at) in dropoutFields.enumerated() { putHex(trainer.network.dropoutRandom.pointee.stateWord(i), at: at) }
        if let fields = earlyFields, let stopping = trainer.earlyStopping {
            putNumber(UInt64(stopping.bestEpoch), at: fields.best)
            putNumber(UInt64(stopping.epochsWithoutImprovement), at: fields.since)
            putHex(UInt64(stopping.bestLoss.bitPattern), at: fields.loss)
        }
        let end = bytes.count - 4
        let checksum = UInt32(crc32(0, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), UInt32(end))).littleEndian
        withUnsafeBytes(of: checksum) { (bytes.baseAddress! + end).copyMemory(from: $0.baseAddress!, byteCount: 4) }
        try path.withUnsafeBufferPointer { p throws(FileError) in
            try temporary.withUnsafeBufferPointer { t throws(FileError) in
                try AtomicFile.write(UnsafeRawBufferPointer(bytes), to: p.baseAddress!, temporary: t.baseAddress!)
            }
        }
    }

    private func putNumber(_ value: UInt64, at start: Int) {
        var v = value, i = start + Self.numberWidth - 1
        repeat {
            bytes[i] = UInt8(ascii: "0") + UInt8(v % 10)
            v /= 10
            i -= 1
        } while v > 0
        while i >= start { bytes[i] = 0x20; i -= 1 }
    }

    private func putHex(_ value: UInt64, at start: Int) {
        for i in 0..<16 {
            let digit = UInt8((value >> (60 - 4 * UInt64(i))) & 15)
            bytes[start + i] = digit < 10 ? UInt8(ascii: "0") + digit : UInt8(ascii: "a") + digit - 10
        }
    }

    private static func find(_ needle: [UInt8], in haystack: [UInt8]) throws -> Int {
        var found: Int? = nil
        var i = 0
        while i + needle.count <= haystack.count {
            if haystack[i] == needle[0] && Array(haystack[i..<(i + needle.count)]) == needle {
                guard found == nil else { throw CheckpointError("checkpoint header: placeholder found twice") }
                found = i
            }
            i += 1
        }
        guard let found else { throw CheckpointError("checkpoint header: placeholder not found") }
        return found
    }
}
