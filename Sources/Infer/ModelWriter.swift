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
    public var description: String { message }
}

/// Serialises a network to the model file format (docs/FORMAT.md).
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

    /// The file bytes for `spec` with the given parameter values (dense weights [inputs, outputs]).
    public static func encode(spec: NetworkSpec, tensors: [ModelTensor], description: Description) throws(ModelWriteError) -> [UInt8] {
        func fail(_ m: String) -> ModelWriteError { ModelWriteError(message: m) }
        if let problem = spec.problem { throw fail(problem) }
        let (c, h, w) = description.inputShape
        guard c * h * w == spec.inputCount else {
            throw fail("input shape \(c)x\(h)x\(w) does not hold the network's \(spec.inputCount) inputs")
        }
        guard spec.layers.count <= ModelFormat.maxLayers, tensors.count <= ModelFormat.maxTensors else {
            throw fail("too many layers or tensors for format version 1")
        }
        let byName = Dictionary(tensors.enumerated().map { ($0.element.name, $0.offset) }, uniquingKeysWith: { a, _ in a })
        for t in tensors {
            guard t.name.utf8.count < ModelFormat.tensorNameBytes else { throw fail("tensor name \(t.name) is longer than 47 bytes") }
            guard (1...4).contains(t.shape.count), t.shape.allSatisfy({ $0 > 0 && $0 <= Int(UInt32.max) }),
                  t.shape.reduce(1, *) == t.values.count else {
                throw fail("tensor \(t.name) has shape \(t.shape) and \(t.values.count) values")
            }
        }

        // Layer records.
        var layerTable: [UInt8] = []
        var width = spec.inputCount
        var denseIndex = 0
        for layer in spec.layers {
            var record = [UInt32](repeating: 0, count: ModelFormat.layerRecordSize / 4)
            switch layer {
            case .dense(let outputs):
                let weightName = "dense\(denseIndex).weight", biasName = "dense\(denseIndex).bias"
                guard let wi = byName[weightName], let bi = byName[biasName] else {
                    throw fail("missing tensor \(weightName) or \(biasName)")
                }
                guard tensors[wi].shape == [width, outputs], tensors[bi].shape == [outputs] else {
                    throw fail("\(weightName) must be [\(width), \(outputs)] and \(biasName) [\(outputs)]")
                }
                record[0] = ModelFormat.LayerKind.dense.rawValue
                record[1] = UInt32(width); record[2] = UInt32(outputs)
                record[3] = UInt32(wi); record[4] = UInt32(bi)
                width = outputs
                denseIndex += 1
            case .activation(let kind):
                record[0] = ModelFormat.LayerKind.activation.rawValue
                record[1] = UInt32(width); record[2] = UInt32(width)
                record[3] = ModelFormat.activationCode(kind)
            }
            for word in record { append(&layerTable, word) }
        }

        let layerTableOffset = ModelFormat.headerSize
        let tensorTableOffset = layerTableOffset + layerTable.count
        let dataOffset = roundUp(tensorTableOffset + tensors.count * ModelFormat.tensorRecordSize)
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
        let fileLength = dataOffset + data.count + 4

        var out: [UInt8] = ModelFormat.magic
        append(&out, ModelFormat.version)
        append(&out, UInt32(ModelFormat.headerSize))
        append(&out, UInt32(spec.layers.count))
        append(&out, UInt32(tensors.count))
        append(&out, UInt64(layerTableOffset))
        append(&out, UInt64(tensorTableOffset))
        append(&out, UInt64(dataOffset))
        append(&out, UInt64(fileLength))
        append(&out, UInt32(1)) // feed-forward network
        append(&out, UInt32(0))
        append(&out, UInt32(c)); append(&out, UInt32(h)); append(&out, UInt32(w))
        append(&out, UInt32(spec.outputCount))
        append(&out, description.outputKind.rawValue)
        append(&out, description.inputEncoding.rawValue)
        out += [UInt8](repeating: 0, count: ModelFormat.headerSize - out.count)
        out += layerTable
        out += tensorTable
        out += [UInt8](repeating: 0, count: dataOffset - out.count)
        out += data
        let crc = out.withUnsafeBufferPointer { UInt32(crc32(0, $0.baseAddress, UInt32($0.count))) }
        append(&out, crc)
        precondition(out.count == fileLength)
        return out
    }

    /// The file bytes for a trained network: its description and current weights. A softmax
    /// cross-entropy network yields probabilities; an MSE network yields values.
    public static func encode(network: Network, inputShape: (channels: Int, height: Int, width: Int),
                              inputEncoding: ModelFormat.InputEncoding) throws(ModelWriteError) -> [UInt8] {
        let tensors = network.parameters.map { ModelTensor(name: $0.name, shape: $0.shape, values: Array($0.value)) }
        let kind: ModelFormat.OutputKind = network.spec.loss == .softmaxCrossEntropy ? .probabilities : .values
        return try encode(spec: network.spec, tensors: tensors,
                          description: Description(inputShape: inputShape, outputKind: kind, inputEncoding: inputEncoding))
    }

    private static func roundUp(_ n: Int) -> Int { (n + ModelFormat.alignment - 1) & ~(ModelFormat.alignment - 1) }

    private static func append<T: FixedWidthInteger>(_ out: inout [UInt8], _ value: T) {
        withUnsafeBytes(of: value.littleEndian) { out += $0 }
    }
}
