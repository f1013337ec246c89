import Foundation
import InferC

/// A model file opened through the C interface (infer_arena_size, infer_open), as a C program
/// would: the bytes and the arena live as long as this value.
final class CModel {
    private let bytes: UnsafeMutableRawBufferPointer
    private let arena: UnsafeMutableRawBufferPointer
    let handle: OpaquePointer

    init(_ file: [UInt8]) throws {
        bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: file.count, alignment: 64)
        _ = bytes.initializeMemory(as: UInt8.self, from: file)
        var needed = 0
        guard infer_arena_size(bytes.baseAddress, file.count, &needed) == 0 else {
            let message = String(cString: infer_last_error())
            bytes.deallocate()
            throw CModelError(message: message)
        }
        arena = UnsafeMutableRawBufferPointer.allocate(byteCount: needed, alignment: 64)
        var out: OpaquePointer?
        guard infer_open(bytes.baseAddress, file.count, arena.baseAddress, needed, &out) == 0, let out else {
            let message = String(cString: infer_last_error())
            bytes.deallocate(); arena.deallocate()
            throw CModelError(message: message)
        }
        handle = out
    }

    deinit { bytes.deallocate(); arena.deallocate() }

    var inputLength: Int { infer_input_len(handle) }
    var outputLength: Int { infer_output_len(handle) }
    var outputKind: Int32 { infer_output_kind(handle) }

    func run(_ input: [Float]) throws -> [Float] {
        var output = [Float](repeating: .nan, count: outputLength)
        guard infer_run(handle, input, input.count, &output, output.count) == 0 else {
            throw CModelError(message: String(cString: infer_last_error()))
        }
        return output
    }
}

struct CModelError: Error, CustomStringConvertible { let message: String; var description: String { message } }

/// A fixture of Tests/Fixtures/onnx (written by make_fixtures.py): the ONNX file and what
/// onnxruntime computed for its inputs.
struct ONNXFixture {
    let onnx: [UInt8]
    let inputs: [[Float]]
    let outputs: [[Float]]

    static let directory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/onnx")

    init(_ name: String) throws {
        onnx = [UInt8](try Data(contentsOf: Self.directory.appendingPathComponent(name + ".onnx")))
        let e = [UInt8](try Data(contentsOf: Self.directory.appendingPathComponent(name + ".expected")))
        func u32(_ at: Int) -> Int { Int(e[at]) | Int(e[at + 1]) << 8 | Int(e[at + 2]) << 16 | Int(e[at + 3]) << 24 }
        let (n, i, o) = (u32(0), u32(4), u32(8))
        let floats = e[12...].withUnsafeBytes { raw in (0..<(raw.count / 4)).map { raw.loadUnaligned(fromByteOffset: $0 * 4, as: Float.self) } }
        precondition(floats.count == n * (i + o), "\(name).expected is truncated")
        inputs = (0..<n).map { Array(floats[($0 * i)..<(($0 + 1) * i)]) }
        outputs = (0..<n).map { Array(floats[(n * i + $0 * o)..<(n * i + ($0 + 1) * o)]) }
    }
}

func maxDifference(_ a: [Float], _ b: [Float]) -> Float {
    guard a.count == b.count else { return .infinity }
    return zip(a, b).map { abs($0 - $1) }.max() ?? 0
}
