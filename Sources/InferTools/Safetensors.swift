import Foundation
import Infer
import Training
import ModelFile

/// Why a safetensors file could not be read.
public struct SafetensorsError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}

/// A reader for the safetensors format: an 8-byte little-endian header length N, N bytes of JSON
/// mapping tensor names to `dtype`, `shape` and `data_offsets` ([begin, end) relative to the end
/// of the header), then the raw little-endian data. F32 tensors are read as is; F64 and F16 are
/// converted to Float.
public struct Safetensors {
    public struct Tensor {
        public let name: String
        public let shape: [Int]
        public let values: [Float]
    }

    public let tensors: [String: Tensor]
    public let metadata: [String: String]

    public init(bytes: [UInt8], path: String = "safetensors file") throws(SafetensorsError) {
        func fail(_ why: String) -> SafetensorsError { SafetensorsError(message: "\(path): \(why)") }
        guard bytes.count >= 8 else { throw fail("not a safetensors file: too short for a header") }
        var headerLength: UInt64 = 0
        for i in 0..<8 { headerLength |= UInt64(bytes[i]) << (8 * UInt64(i)) }
        guard headerLength <= UInt64(bytes.count - 8), headerLength <= 100_000_000 else {
            throw fail("not a safetensors file: its header length \(headerLength) runs past the end of the file")
        }
        let dataStart = 8 + Int(headerLength)
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: Data(bytes[8..<dataStart])) } catch {
            throw fail("the header is not valid JSON")
        }
        guard let header = object as? [String: Any] else { throw fail("the header is not a JSON object") }
        var tensors: [String: Tensor] = [:]
        var metadata: [String: String] = [:]
        let dataLength = bytes.count - dataStart
        for (name, value) in header {
            if name == "__metadata__" {
                for (k, v) in (value as? [String: Any]) ?? [:] { metadata[k] = "\(v)" }
                continue
            }
            guard let entry = value as? [String: Any], let dtype = entry["dtype"] as? String,
                  let shapeValues = entry["shape"] as? [Any], let offsets = entry["data_offsets"] as? [Any],
                  offsets.count == 2 else {
                throw fail("tensor \(name): needs dtype, shape and data_offsets")
            }
            let shape = shapeValues.compactMap { ($0 as? NSNumber)?.intValue }
            guard shape.count == shapeValues.count, shape.allSatisfy({ $0 >= 0 && $0 <= 1 << 31 }) else {
                throw fail("tensor \(name): bad shape")
            }
            guard let begin = (offsets[0] as? NSNumber)?.intValue, let end = (offsets[1] as? NSNumber)?.intValue,
                  begin >= 0, begin <= end, end <= dataLength else {
                throw fail("tensor \(name): data_offsets outside the data")
            }
            var count = 1
            for d in shape {
                let (product, overflow) = count.multipliedReportingOverflow(by: d)
                guard !overflow, product <= 1 << 34 else { throw fail("tensor \(name): shape too large") }
                count = product
            }
            let width: Int
            switch dtype {
            case "F32": width = 4
            case "F64": width = 8
            case "F16": width = 2
            default: throw fail("tensor \(name): dtype \(dtype) is not supported (F32, F64, F16 are)")
            }
            guard end - begin == count * width else {
                throw fail("tensor \(name): \(end - begin) bytes for \(count) values of \(dtype)")
            }
            let values: [Float] = bytes[(dataStart + begin)..<(dataStart + end)].withUnsafeBytes { raw in
                (0..<count).map { i in
                    switch width {
                    case 4: return Float(bitPattern: UInt32(littleEndian: raw.loadUnaligned(fromByteOffset: 4 * i, as: UInt32.self)))
                    case 8: return Float(Double(bitPattern: UInt64(littleEndian: raw.loadUnaligned(fromByteOffset: 8 * i, as: UInt64.self))))
                    default: return Float(Float16(bitPattern: UInt16(littleEndian: raw.loadUnaligned(fromByteOffset: 2 * i, as: UInt16.self))))
                    }
                }
            }
            tensors[name] = Tensor(name: name, shape: shape, values: values)
        }
        self.tensors = tensors
        self.metadata = metadata
    }

    /// Maps the tensors onto an MLP of the given widths (inputs, hidden..., outputs). Linear layers
    /// are found as `<prefix>.weight` / `<prefix>.bias` pairs, ordered by prefix (numbers compared
    /// as numbers: "2" before "10"); weights are PyTorch's [out, in] and are transposed.
    public func mlp(widths: [Int], activation: ActivationKind) throws(SafetensorsError) -> (NetworkSpec, [ModelTensor]) {
        guard widths.count >= 2, widths.allSatisfy({ $0 > 0 }) else {
            throw SafetensorsError(message: "an MLP needs at least an input and an output width, all positive")
        }
        let prefixes = Set(tensors.keys.filter { $0.hasSuffix(".weight") }.map { String($0.dropLast(".weight".count)) })
            .sorted { $0.compare($1, options: .numeric) == .orderedAscending }
        guard prefixes.count == widths.count - 1 else {
            throw SafetensorsError(message: "the architecture has \(widths.count - 1) linear layers, the file has \(prefixes.count) weight tensors (\(prefixes.joined(separator: ", ")))")
        }
        var result: [ModelTensor] = []
        for (i, prefix) in prefixes.enumerated() {
            let inputs = widths[i], outputs = widths[i + 1]
            guard let w = tensors[prefix + ".weight"], let b = tensors[prefix + ".bias"] else {
                throw SafetensorsError(message: "layer \(prefix) has no bias tensor \(prefix).bias")
            }
            guard w.shape == [outputs, inputs] else {
                throw SafetensorsError(message: "\(prefix).weight has shape \(w.shape); layer \(i) of the architecture needs [\(outputs), \(inputs)] (PyTorch's [out, in])")
            }
            guard b.shape == [outputs] else {
                throw SafetensorsError(message: "\(prefix).bias has shape \(b.shape), expected [\(outputs)]")
            }
            var transposed = [Float](repeating: 0, count: inputs * outputs)
            for o in 0..<outputs { for j in 0..<inputs { transposed[j * outputs + o] = w.values[o * inputs + j] } }
            result.append(ModelTensor(name: "dense\(i).weight", shape: [inputs, outputs], values: transposed))
            result.append(ModelTensor(name: "dense\(i).bias", shape: [outputs], values: b.values))
        }
        let spec = NetworkSpec.mlp(inputs: widths[0], hidden: Array(widths.dropFirst().dropLast()), outputs: widths.last!,
                                   activation: activation)
        return (spec, result)
    }
}
