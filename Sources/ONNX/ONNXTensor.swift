import Foundation
import SwiftProtobuf

/// Why an ONNX file could not be imported or a model file exported.
public struct ONNXError: Error, CustomStringConvertible, Sendable {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// A tensor whose values are known when the file is read (an initializer or a Constant node's),
/// with ONNX's full shape (batch dimension included where it has one). Integer tensors (shapes,
/// indices) keep their integers as well.
struct KnownTensor {
    var shape: [Int]
    var floats: [Float]
    var integers: [Int]?

    var count: Int { floats.count }

    init(shape: [Int], floats: [Float], integers: [Int]? = nil) {
        (self.shape, self.floats, self.integers) = (shape, floats, integers)
    }

    /// The values of `t`, from whichever field holds them (raw little-endian bytes or the typed lists).
    init(_ t: Onnx_TensorProto, what: String) throws(ONNXError) {
        if t.dataLocation == .external {
            throw ONNXError("\(what) keeps its data in an external file, which the importer does not read; save the model with its weights inside")
        }
        let shape = t.dims.map { Int($0) }
        guard shape.allSatisfy({ $0 >= 0 }) else { throw ONNXError("\(what) has a negative dimension: \(shape)") }
        let count = shape.reduce(1, *)
        typealias Type = Onnx_TensorProto.DataType
        let raw = [UInt8](t.rawData)
        func fromRaw<T>(_ type: T.Type) -> [T]? {
            guard raw.count == count * MemoryLayout<T>.size else { return nil }
            return raw.withUnsafeBytes { bytes in (0..<count).map { bytes.loadUnaligned(fromByteOffset: $0 * MemoryLayout<T>.size, as: T.self) } }
        }
        var floats: [Float]?, integers: [Int]?
        switch Type(rawValue: Int(t.dataType)) {
        case .float:
            floats = t.hasRawData ? fromRaw(Float.self) : t.floatData
        case .double:
            floats = (t.hasRawData ? fromRaw(Double.self) : t.doubleData).map { $0.map { Float($0) } }
        case .int64:
            integers = (t.hasRawData ? fromRaw(Int64.self) : t.int64Data).map { $0.map { Int($0) } }
        case .int32:
            integers = (t.hasRawData ? fromRaw(Int32.self) : t.int32Data).map { $0.map { Int($0) } }
        case .bool, .uint8, .int8:
            integers = t.hasRawData ? raw.count == count ? raw.map { t.dataType == Int32(Type.int8.rawValue) ? Int(Int8(bitPattern: $0)) : Int($0) } : nil
                                    : t.int32Data.map { Int($0) }
        default:
            throw ONNXError("\(what) has element type \(t.dataType), which the importer does not read (float, double, int64, int32, int8, uint8, bool)")
        }
        if let integers { floats = integers.map { Float($0) } }
        guard let floats, floats.count == count else {
            let held = floats.map { "\($0.count) values" } ?? "\(raw.count) bytes of data"
            throw ONNXError("\(what) holds \(held) for its shape \(shape) (\(count) values)")
        }
        self.init(shape: shape, floats: floats, integers: integers)
    }

    /// An ONNX tensor of 32-bit floats (as raw bytes, the compact form) for the exporter.
    static func proto(name: String, shape: [Int], floats: [Float]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = shape.map { Int64($0) }
        t.dataType = Int32(Onnx_TensorProto.DataType.float.rawValue)
        t.rawData = floats.withUnsafeBytes { Data($0) }
        return t
    }

    /// An ONNX tensor of 64-bit integers (shapes) for the exporter.
    static func proto(name: String, integers: [Int]) -> Onnx_TensorProto {
        var t = Onnx_TensorProto()
        t.name = name
        t.dims = [Int64(integers.count)]
        t.dataType = Int32(Onnx_TensorProto.DataType.int64.rawValue)
        t.int64Data = integers.map { Int64($0) }
        return t
    }
}
