import Testing
import Foundation
import CZlib
import Infer
import Training
import ModelFile
import InferC

/// Status of infer_arena_size and infer_open on these bytes (they must agree on validation).
func status(_ bytes: [UInt8]) -> Int32 {
    bytes.withUnsafeBytes { raw -> Int32 in
        var needed = 0
        let base = raw.baseAddress ?? UnsafeRawPointer(bitPattern: 64)!
        let sizing = infer_arena_size(base, raw.count, &needed)
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: 1 << 22, alignment: 64)
        defer { arena.deallocate() }
        var out: OpaquePointer?
        let opening = infer_open(base, raw.count, arena.baseAddress, arena.count, &out)
        #expect(sizing == opening || sizing == 0 && opening == 4)
        #expect((opening == 0) == (out != nil))
        return opening
    }
}

/// Rewrites the checksum so a deliberate edit is judged on its own, not as a CRC failure.
func resealed(_ bytes: [UInt8]) -> [UInt8] {
    var b = bytes
    let crc = b.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count - 4))) }
    withUnsafeBytes(of: crc.littleEndian) { for i in 0..<4 { b[b.count - 4 + i] = $0[i] } }
    return b
}

func put32(_ b: inout [UInt8], _ offset: Int, _ v: UInt32) {
    withUnsafeBytes(of: v.littleEndian) { for i in 0..<4 { b[offset + i] = $0[i] } }
}

func put64(_ b: inout [UInt8], _ offset: Int, _ v: UInt64) {
    withUnsafeBytes(of: v.littleEndian) { for i in 0..<8 { b[offset + i] = $0[i] } }
}

@Suite struct ModelFileTests {
    let good = TrainedModel.shared.versionOneBytes
    // The trained model: 3 layers, 4 tensors; tables at 128 and 320.
    let tensorTable = 128 + 3 * 64

    @Test func goodFileOpens() { #expect(status(good) == 0) }

    @Test func truncatedAtEveryHeaderAndTableBoundaryAndBeyond() {
        var lengths = Array(0...(tensorTable + 4 * 96 + 70))
        lengths += stride(from: tensorTable + 4 * 96 + 70, to: good.count, by: 997).map { $0 }
        lengths += [good.count - 4, good.count - 1]
        for length in lengths {
            #expect(status(Array(good.prefix(length))) == 2, "truncated to \(length)")
        }
        #expect(status(good + [0]) == 2)
    }

    @Test func flippedBytesAreCaught() {
        for position in Array(0..<(tensorTable + 4 * 96)) + stride(from: 704, to: good.count, by: 4001).map({ $0 }) {
            var bytes = good
            bytes[position] ^= 0x10
            let s = status(bytes)
            // A flipped version byte reads as an unsupported version; anything else as corrupt.
            #expect(s == (position >= 8 && position < 12 ? 3 : 2), "byte \(position) flipped: status \(s)")
        }
    }

    @Test func wrongMagicAndUnsupportedVersions() {
        var bytes = good
        bytes[0] = UInt8(ascii: "X")
        #expect(status(resealed(bytes)) == 2)
        #expect(String(cString: infer_last_error()).contains("magic"))
        bytes = good
        put32(&bytes, 8, 3)
        #expect(status(resealed(bytes)) == 3)
        #expect(String(cString: infer_last_error()).contains("version 3"))
        put32(&bytes, 8, 0)
        #expect(status(resealed(bytes)) == 3)
    }

    /// Well-sealed files with impossible contents: each a clear format error, never a crash.
    @Test func absurdShapesOffsetsAndReferences() {
        let t0 = tensorTable, t1 = tensorTable + 96
        let edits: [(String, (inout [UInt8]) -> Void)] = [
            ("huge dimension", { put32(&$0, t0 + 56, 0xFFFF_FFFF) }),
            ("overflowing shape", { put32(&$0, t0 + 52, 4); for d in 0..<4 { put32(&$0, t0 + 56 + 4 * d, 0xFFFF_FFFF) } }),
            ("zero dimension", { put32(&$0, t0 + 60, 0) }),
            ("rank 0", { put32(&$0, t0 + 52, 0) }),
            ("rank 5", { put32(&$0, t0 + 52, 5) }),
            ("dtype", { put32(&$0, t0 + 48, 7) }),
            ("offset past the end", { put64(&$0, t0 + 72, UInt64($0.count) + 64) }),
            ("offset near 2^64", { put64(&$0, t0 + 72, UInt64.max - 63) }),
            ("misaligned offset", { put64(&$0, t0 + 72, 704 + 4) }),
            ("overlapping tensors", { put64(&$0, t1 + 72, 704) }),
            ("byte length mismatch", { put64(&$0, t0 + 80, 16) }),
            ("layer table past the end", { put64(&$0, 24, UInt64($0.count)) }),
            ("tensor table overflow", { put64(&$0, 32, UInt64.max - 10) }),
            ("layer count 0", { put32(&$0, 16, 0) }),
            ("layer count huge", { put32(&$0, 16, 1_000_000) }),
            ("tensor count huge", { put32(&$0, 20, 1_000_000) }),
            ("missing tensor", { put32(&$0, 128 + 12, 99) }),
            ("wrong tensor for layer", { put32(&$0, 128 + 12, 1) }),
            ("unknown layer kind", { put32(&$0, 128, 9) }),
            ("unknown activation", { put32(&$0, 128 + 64 + 12, 77) }),
            ("lengths do not chain", { put32(&$0, 128 + 64 + 4, 99); put32(&$0, 128 + 64 + 8, 99) }),
            ("input shape", { put32(&$0, 72, 0) }),
            ("input shape product", { put32(&$0, 64, 0xFFFF); put32(&$0, 68, 0xFFFF); put32(&$0, 72, 0xFFFF) }),
            ("output length", { put32(&$0, 76, 11) }),
            ("output kind", { put32(&$0, 80, 5) }),
            ("file length field", { put64(&$0, 48, UInt64($0.count) * 2) }),
            ("header size", { put32(&$0, 12, 64) }),
            ("unterminated name", { for i in 0..<48 { $0[t0 + i] = 65 } }),
            // Found by the fuzzer: the element count overflowed 64 bits before the size check.
            ("dimensions whose product overflows", { b in
                put32(&b, t0 + 52, 4); for d in 0..<4 { put32(&b, t0 + 56 + 4 * d, 0xFFFF_FFFF) }
            }),
        ]
        for (name, edit) in edits {
            var bytes = good
            edit(&bytes)
            #expect(status(resealed(bytes)) == 2, "\(name): \(String(cString: infer_last_error()))")
            #expect(!String(cString: infer_last_error()).isEmpty, "\(name) has no message")
        }
    }

    @Test func writerOutputMatchesTheDocumentedLayout() throws {
        #expect(Array(good.prefix(8)) == Array("INFMODL".utf8) + [0])
        // docs/FORMAT.md's MLP 784-128-10 example is 407,812 bytes; this one is 784-64-10.
        #expect(good.count == 704 + 784 * 64 * 4 + 256 + 64 * 10 * 4 + 64 + 4)
        try good.withUnsafeBytes { raw in
            let file = try ModelFile(base: raw.baseAddress!, length: raw.count)
            #expect(file.layerCount == 3 && file.tensorCount == 4)
            #expect((0..<4).allSatisfy { file.tensor($0).offset % 64 == 0 })
            #expect(String(cString: file.tensorName(0)) == "dense0.weight")
        }
    }
}
