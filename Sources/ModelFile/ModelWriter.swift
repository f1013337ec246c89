import LowLevel
import CZlib

/// One tensor to write: name, shape (outermost first) and values.
public struct ModelTensor {
    public var name: String
    public var shape: [Int]
    public var values: [Float]
    public init(name: String, shape: [Int], values: [Float]) {
        self.name = name
        self.shape = shape
        self.values = values
    }
}

/// Why a model cannot be written.
public struct ModelWriteError: Error, CustomStringConvertible {
    public let message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// Serialises a model to the model file format (docs/FORMAT.md): layer records and tensors
/// (`serialise`), stages (`encode(stages:description:)`); a trained network's encoding is in the
/// Training module.
public enum ModelWriter {
    /// What goes in the header besides the tables.
    public struct Description {
        /// Channels, height, width of one input.
        public var inputShape: (channels: Int, height: Int, width: Int)
        public var outputKind: ModelFormat.OutputKind
        public var inputEncoding: ModelFormat.InputEncoding

        public init(inputShape: (channels: Int, height: Int, width: Int), outputKind: ModelFormat.OutputKind,
                    inputEncoding: ModelFormat.InputEncoding) {
            self.inputShape = inputShape
            self.outputKind = outputKind
            self.inputEncoding = inputEncoding
        }
    }

    package static func serialise(records: [[UInt32]], tensors: [ModelTensor], description: Description,
                          outputLength: Int) throws(ModelWriteError) -> [UInt8] {
        func fail(_ m: String) -> ModelWriteError { ModelWriteError(message: m) }
        guard records.count <= ModelFormat.maxLayers, tensors.count <= ModelFormat.maxTensors else {
            throw fail("too many layers or tensors for format version 1")
        }
        var layerTable: [UInt8] = []
        for r in records { for word in r { append(&layerTable, word) } }
        let layerTableOffset = ModelFormat.headerSize
        let tensorTableOffset = layerTableOffset + layerTable.count
        let (tensorTable, data, dataOffset) = try tensorSection(tensors, tableOffset: tensorTableOffset)
        let fileLength = dataOffset + data.count + 4
        let (c, h, w) = description.inputShape
        var out: [UInt8] = ModelFormat.magic
        append(&out, ModelFormat.version)
        append(&out, UInt32(ModelFormat.headerSize))
        append(&out, UInt32(records.count))
        append(&out, UInt32(tensors.count))
        append(&out, UInt64(layerTableOffset))
        append(&out, UInt64(tensorTableOffset))
        append(&out, UInt64(dataOffset))
        append(&out, UInt64(fileLength))
        append(&out, UInt32(1)) // feed-forward network
        append(&out, UInt32(0))
        append(&out, UInt32(c)); append(&out, UInt32(h)); append(&out, UInt32(w))
        append(&out, UInt32(outputLength))
        append(&out, description.outputKind.rawValue)
        append(&out, description.inputEncoding.rawValue)
        return sealed(header: out, tables: layerTable + tensorTable, data: data, dataOffset: dataOffset, fileLength: fileLength)
    }

    /// The header padded to 128 bytes, the tables, zeros up to `dataOffset`, the data, and the
    /// CRC-32 of everything before it: the file both versions write.
    static func sealed(header: [UInt8], tables: [UInt8], data: [UInt8], dataOffset: Int, fileLength: Int) -> [UInt8] {
        precondition(header.count <= ModelFormat.headerSize)
        var out = header + [UInt8](repeating: 0, count: ModelFormat.headerSize - header.count) + tables
        out += [UInt8](repeating: 0, count: dataOffset - out.count)
        out += data
        let crc = out.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
        append(&out, crc)
        precondition(out.count == fileLength)
        return out
    }

    /// The tensor table (starting at `tableOffset`) and the data after it, each tensor padded to
    /// the next 64 bytes; `dataOffset` is where the data starts. Both versions use these records.
    static func tensorSection(_ tensors: [ModelTensor], tableOffset: Int) throws(ModelWriteError) -> (table: [UInt8], data: [UInt8], dataOffset: Int) {
        for t in tensors {
            guard t.name.utf8.count < ModelFormat.tensorNameBytes else {
                throw ModelWriteError(message: "tensor name \(t.name) is longer than 47 bytes")
            }
            guard (1...4).contains(t.shape.count), t.shape.allSatisfy({ $0 > 0 && $0 <= Int(UInt32.max) }),
                  t.shape.reduce(1, *) == t.values.count else {
                throw ModelWriteError(message: "tensor \(t.name) has shape \(t.shape) and \(t.values.count) values")
            }
        }
        let dataOffset = roundUp(tableOffset + tensors.count * ModelFormat.tensorRecordSize)
        var tensorTable: [UInt8] = []
        var data: [UInt8] = []
        for t in tensors {
            var name = Array(t.name.utf8)
            name += [UInt8](repeating: 0, count: ModelFormat.tensorNameBytes - name.count)
            tensorTable += name
            append(&tensorTable, ModelFormat.dtypeFloat32)
            append(&tensorTable, UInt32(t.shape.count))
            for i in 0..<4 { append(&tensorTable, UInt32(i < t.shape.count ? t.shape[i] : 0)) }
            append(&tensorTable, UInt64(dataOffset + data.count))
            append(&tensorTable, UInt64(t.values.count * 4))
            append(&tensorTable, UInt64(0))
            for v in t.values { append(&data, v.bitPattern) }
            data += [UInt8](repeating: 0, count: roundUp(data.count) - data.count)
        }
        return (tensorTable, data, dataOffset)
    }

    static func roundUp(_ n: Int) -> Int { (n + ModelFormat.alignment - 1) & ~(ModelFormat.alignment - 1) }

    static func append<T: FixedWidthInteger>(_ out: inout [UInt8], _ value: T) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }
}

extension String {
    package func replacingSuffix(_ suffix: String, with replacement: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + replacement : self + replacement
    }
}
