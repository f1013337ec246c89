import LowLevel
import CZlib

/// A validated model file (docs/FORMAT.md) in memory the caller owns and keeps alive. Validation
/// reads the bytes in place and allocates nothing; every range is checked before use, with
/// overflow-safe arithmetic, so corrupt or hostile files fail with a status and a message
/// (in `ErrorMessage.current`) and never cause an out-of-bounds read.
public struct ModelFile {
    public let base: UnsafeRawPointer
    public let length: Int
    public let layerCount: Int
    public let tensorCount: Int
    public let inputChannels: Int
    public let inputHeight: Int
    public let inputWidth: Int
    public let outputLength: Int
    public let outputKind: ModelFormat.OutputKind
    public let inputEncoding: ModelFormat.InputEncoding
    /// Widest activation vector (input included).
    public let maxWidth: Int
    /// Floats of convolution scratch the runtime needs (0 without convolutions).
    public let maxColumns: Int
    /// Largest k of a nearest-neighbour layer (0 without one).
    public let maxNeighbours: Int
    /// Largest input of a local linear regression layer (0 without one).
    public let maxLocalLinear: Int
    private let layerTable: Int
    private let tensorTable: Int
    /// 1 (a layer list) or 2 (a graph).
    public let version: Int
    /// Version 2: the graph's tables and plan (`ModelFile+Graph.swift`); nil for version 1.
    public let graph: GraphSection?
    /// Widest dense input (0 without dense layers): the scratch `Kernels.denseOne` needs.
    public let maxDenseInputs: Int
    /// Floats the largest attention node needs: its weights (heads × T²) and its kernel's scratch
    /// (`Kernels.attentionScratch`); 0 without one.
    public let maxAttention: Int
    /// A sequence model's vocabulary tensor (the byte of each token id, as floats), if it has one.
    public let vocabularyTensor: Int?
    /// Whether the input is token ids (int32) rather than floats: a sequence model.
    public var inputIsTokens: Bool { graph.map { value($0.inputValue).element == .int32 } ?? false }

    public var inputLength: Int { inputChannels * inputHeight * inputWidth }
    /// Whether PNG input can be prepared for this model (one channel of image pixels).
    /// Whether the model draws samples: its input is a latent z ~ N(0, I) (a GAN's generator).
    public var isGenerative: Bool { inputEncoding == .gaussianLatent }
    public var acceptsImages: Bool { inputEncoding == .pixels && inputChannels == 1 && inputHeight > 1 && inputWidth > 1 }

    public struct Layer {
        public let kind: ModelFormat.LayerKind
        public let inputs: Int
        public let outputs: Int
        public let arg0: UInt32
        public let arg1: UInt32
        fileprivate let record: UnsafeRawPointer
        /// Argument `i` (0...12) of the record.
        public func arg(_ i: Int) -> Int { Int(readU32(record, 12 + 4 * i)) }
    }

    public struct Tensor {
        public let rank: Int
        public let shape: (Int, Int, Int, Int)
        public let offset: Int
        public let byteLength: Int
        public var count: Int { byteLength / 4 }
    }

    /// Validates `length` bytes at `base`, a version-1 or version-2 file. Throws `.format`,
    /// `.version` or `.argument`, with the details in `ErrorMessage.current`.
    public init(base: UnsafeRawPointer, length: Int) throws(InferStatus) {
        let version = try Self.checkEnvelope(base: base, length: length)
        if version == GraphFormat.version {
            try self.init(graphAt: base, length: length)
        } else {
            try self.init(layersAt: base, length: length)
        }
    }

    /// What both versions share: magic, a known version, header size, file length (at offset 48 in
    /// both), checksum.
    /// Returns the version.
    private static func checkEnvelope(base: UnsafeRawPointer, length: Int) throws(InferStatus) -> UInt32 {
        func fail(_ status: InferStatus, _ text: StaticString) -> InferStatus {
            var m = ErrorMessage(); m.append(text); return status
        }
        guard length >= 0 else { throw fail(.argument, "negative model length") }
        guard length >= ModelFormat.headerSize + 4 else {
            var m = ErrorMessage()
            m.append("model is "); m.append(length); m.append(" bytes, shorter than the 132-byte minimum")
            throw .format
        }
        for i in 0..<8 where base.load(fromByteOffset: i, as: UInt8.self) != ModelFormat.magic[i] {
            throw fail(.format, "not a model file: bad magic (expected \"INFMODL\")")
        }
        let version = readU32(base, 8)
        guard version == ModelFormat.version || version == GraphFormat.version else {
            var m = ErrorMessage()
            m.append("model format version "); m.append(Int(version)); m.append(" is not supported; this runtime reads versions 1 and 2")
            throw .version
        }
        guard readU32(base, 12) == UInt32(ModelFormat.headerSize) else { throw fail(.format, "corrupt model: header size is not 128") }
        let fileLength = readU64(base, 48)
        guard fileLength == UInt64(length) else {
            var m = ErrorMessage()
            m.append("corrupt or truncated model: the header says "); m.append(Int(clamping: fileLength))
            m.append(" bytes, "); m.append(length); m.append(" were given")
            throw .format
        }
        let stored = readU32(base, length - 4)
        let computed = UInt32(crc32_z(0, base.assumingMemoryBound(to: UInt8.self), length - 4))
        guard stored == computed else { throw fail(.format, "corrupt model: checksum mismatch") }
        return version
    }

    /// Reads the file as the `ModelFile` fields describe it (used by the version-2 reader).
    init(base: UnsafeRawPointer, length: Int, nodes: Int, tensors: Int, tensorTable: Int, input: (Int, Int, Int),
         outputLength: Int, outputKind: ModelFormat.OutputKind, inputEncoding: ModelFormat.InputEncoding,
         scratch: (columns: Int, neighbours: Int, localLinear: Int, denseInputs: Int, attention: Int), graph: GraphSection,
         vocabulary: Int?) {
        self.base = base
        self.length = length
        layerCount = nodes
        tensorCount = tensors
        layerTable = 0
        self.tensorTable = tensorTable
        (inputChannels, inputHeight, inputWidth) = input
        self.outputLength = outputLength
        self.outputKind = outputKind
        self.inputEncoding = inputEncoding
        maxWidth = 0
        (maxColumns, maxNeighbours, maxLocalLinear, maxDenseInputs, maxAttention) = scratch
        version = 2
        self.graph = graph
        vocabularyTensor = vocabulary
    }

    /// A version-1 file (envelope already checked).
    private init(layersAt base: UnsafeRawPointer, length: Int) throws(InferStatus) {
        func fail(_ status: InferStatus, _ text: StaticString) -> InferStatus {
            var m = ErrorMessage(); m.append(text); return status
        }
        let layers = Int(readU32(base, 16)), tensors = Int(readU32(base, 20))
        guard (1...ModelFormat.maxLayers).contains(layers) else { throw fail(.format, "corrupt model: layer count out of range") }
        guard tensors <= ModelFormat.maxTensors else { throw fail(.format, "corrupt model: tensor count out of range") }
        let end = length - 4
        // A table must lie after the header and before the checksum.
        func range(_ offset: UInt64, _ size: Int) -> Int? {
            guard offset >= UInt64(ModelFormat.headerSize), offset <= UInt64(end),
                  UInt64(size) <= UInt64(end) - offset else { return nil }
            return Int(offset)
        }
        guard let layerTable = range(readU64(base, 24), layers * ModelFormat.layerRecordSize) else {
            throw fail(.format, "corrupt model: layer table outside the file")
        }
        guard let tensorTable = range(readU64(base, 32), tensors * ModelFormat.tensorRecordSize) else {
            throw fail(.format, "corrupt model: tensor table outside the file")
        }
        let dataOffset = readU64(base, 40)
        guard dataOffset % UInt64(ModelFormat.alignment) == 0, range(dataOffset, 0) != nil else {
            throw fail(.format, "corrupt model: data offset misaligned or outside the file")
        }
        guard readU32(base, 56) == 1 else { throw fail(.format, "corrupt model: unknown model kind") }
        let c = Int(readU32(base, 64)), h = Int(readU32(base, 68)), w = Int(readU32(base, 72))
        guard c > 0, h > 0, w > 0, c <= 1 << 16, h <= 1 << 16, w <= 1 << 16, c * h * w <= 1 << 28 else {
            throw fail(.format, "corrupt model: impossible input shape")
        }
        guard let outputKind = ModelFormat.OutputKind(rawValue: readU32(base, 80)) else {
            throw fail(.format, "corrupt model: unknown output kind")
        }
        guard let encoding = ModelFormat.InputEncoding(rawValue: readU32(base, 84)), encoding != .gaussianLatent else {
            throw fail(.format, "corrupt model: unknown input encoding")
        }
        self.base = base
        self.length = length
        version = 1
        graph = nil
        self.layerCount = layers
        self.tensorCount = tensors
        self.layerTable = layerTable
        self.tensorTable = tensorTable
        inputChannels = c; inputHeight = h; inputWidth = w
        outputLength = Int(readU32(base, 76))
        self.outputKind = outputKind
        inputEncoding = encoding

        try Self.validateTensors(base: base, count: tensors, table: tensorTable, dataOffset: dataOffset, end: end)

        // Layers: known kinds, chained lengths, tensors of the right shapes.
        var width = c * h * w
        var widest = width
        var maxColumns = 0, maxNeighbours = 0, maxLocalLinear = 0, maxDense = 0
        for l in 0..<layers {
            let r = layerTable + l * ModelFormat.layerRecordSize
            guard let kind = ModelFormat.LayerKind(rawValue: readU32(base, r)) else {
                throw fail(.format, "corrupt model: unknown layer kind")
            }
            let inputs = Int(readU32(base, r + 4)), outputs = Int(readU32(base, r + 8))
            guard inputs == width else { throw fail(.format, "corrupt model: layer lengths do not chain") }
            guard outputs > 0, outputs <= 1 << 28 else { throw fail(.format, "corrupt model: layer output length out of range") }
            func arg(_ i: Int) -> Int { Int(readU32(base, r + 12 + 4 * i)) }
            func tensorOK(_ index: Int, _ shape: [Int]) -> Bool {
                guard index < tensors else { return false }
                let t = Self.tensorRecord(base, tensorTable, index)
                let dims = [t.shape.0, t.shape.1, t.shape.2, t.shape.3]
                return t.rank == shape.count && Array(dims.prefix(t.rank)) == shape
            }
            // Geometry fields are bounded first, so products below cannot overflow.
            func bounded(_ range: ClosedRange<Int>) -> Bool { (range).allSatisfy { arg($0) > 0 && arg($0) <= 1 << 14 } }
            switch kind {
            case .dense:
                guard tensorOK(arg(0), [inputs, outputs]), tensorOK(arg(1), [outputs]) else {
                    throw fail(.format, "corrupt model: dense layer tensors missing or of the wrong shape")
                }
                maxDense = max(maxDense, inputs)
            case .activation:
                guard inputs == outputs else { throw fail(.format, "corrupt model: activation changes the length") }
                guard ModelFormat.activation(code: UInt32(arg(0))) != nil else {
                    throw fail(.format, "corrupt model: unknown activation")
                }
            case .conv2d:
                guard bounded(2...8), bounded(11...12), arg(9) < arg(5), arg(10) < arg(6) else {
                    throw fail(.format, "corrupt model: convolution sizes out of range")
                }
                let (c, h, w, kh, kw) = (arg(2), arg(3), arg(4), arg(5), arg(6))
                let (oh, ow) = (arg(11), arg(12))
                guard c * h * w == inputs, outputs % (oh * ow) == 0 else {
                    throw fail(.format, "corrupt model: convolution lengths do not match its geometry")
                }
                let filters = outputs / (oh * ow)
                guard filters > 0, tensorOK(arg(0), [filters, c, kh, kw]), tensorOK(arg(1), [filters]) else {
                    throw fail(.format, "corrupt model: convolution tensors missing or of the wrong shape")
                }
                guard c * kh * kw * oh * ow <= 1 << 26 else { throw fail(.format, "corrupt model: convolution too large") }
            case .maxPool, .averagePool:
                guard bounded(0...6), arg(3) <= arg(1), arg(4) <= arg(2) else {
                    throw fail(.format, "corrupt model: pooling sizes out of range")
                }
                let oh = 1 + (arg(1) - arg(3)) / arg(5), ow = 1 + (arg(2) - arg(4)) / arg(6)
                guard arg(0) * arg(1) * arg(2) == inputs, arg(0) * oh * ow == outputs else {
                    throw fail(.format, "corrupt model: pooling lengths do not match its geometry")
                }
            case .channelAffine:
                guard bounded(2...3), inputs == outputs, arg(2) * arg(3) == inputs,
                      tensorOK(arg(0), [arg(2)]), tensorOK(arg(1), [arg(2)]) else {
                    throw fail(.format, "corrupt model: affine layer sizes or tensors wrong")
                }
            case .kernel:
                guard tensorOK(arg(0), [outputs, inputs]) else {
                    throw fail(.format, "corrupt model: kernel layer points missing or of the wrong shape")
                }
                guard KernelFunction(code: UInt32(arg(1)), degree: UInt32(arg(2)), sigma: Float(bitPattern: UInt32(arg(3)))) != nil else {
                    throw fail(.format, "corrupt model: unknown kernel or bad kernel parameters")
                }
            case .pairwiseVote:
                let k = arg(0)
                guard k >= 2, k <= ModelFormat.maxClasses, outputs == k, inputs == k * (k - 1) / 2 else {
                    throw fail(.format, "corrupt model: vote layer lengths do not match its class count")
                }
            case .nearestNeighbours:
                try Self.validateNeighbours(base: base, tensors: tensors, tensorTable: tensorTable, inputs: inputs, outputs: outputs,
                                            arg: arg, tensorOK: tensorOK)
                if arg(4) == Int(ModelFormat.NeighbourModeCode.localLinear.rawValue) {
                    maxLocalLinear = max(maxLocalLinear, inputs)
                } else if arg(4) <= Int(ModelFormat.NeighbourModeCode.regress.rawValue) {
                    maxNeighbours = max(maxNeighbours, arg(2))
                }
            }
            if kind == .conv2d {
                let g = ConvGeometry(input: Shape3(channels: arg(2), height: arg(3), width: arg(4)),
                                     output: Shape3(channels: outputs / (arg(11) * arg(12)), height: arg(11), width: arg(12)),
                                     kernelHeight: arg(5), kernelWidth: arg(6), strideY: arg(7), strideX: arg(8),
                                     padTop: arg(9), padLeft: arg(10))
                maxColumns = max(maxColumns, Convolution.scratchForOne(g))
            }
            width = outputs
            widest = max(widest, outputs)
        }
        guard width == outputLength else { throw fail(.format, "corrupt model: last layer does not produce output_length values") }
        maxWidth = widest
        self.maxColumns = maxColumns
        self.maxNeighbours = maxNeighbours
        self.maxLocalLinear = maxLocalLinear
        maxDenseInputs = maxDense
        maxAttention = 0
        vocabularyTensor = nil
    }

    /// Tensors: known dtype, sane shape, aligned data inside the data area (`dataOffset` to
    /// `end`), no overlaps. The same records in both versions.
    static func validateTensors(base: UnsafeRawPointer, count tensors: Int, table: Int, dataOffset: UInt64, end: Int) throws(InferStatus) {
        func fail(_ status: InferStatus, _ text: StaticString) -> InferStatus {
            var m = ErrorMessage(); m.append(text); return status
        }
        for t in 0..<tensors {
            let r = table + t * ModelFormat.tensorRecordSize
            guard base.load(fromByteOffset: r + ModelFormat.tensorNameBytes - 1, as: UInt8.self) == 0 else {
                throw fail(.format, "corrupt model: tensor name not terminated")
            }
            guard readU32(base, r + 48) == ModelFormat.dtypeFloat32 else { throw fail(.format, "corrupt model: unknown tensor dtype") }
            let rank = Int(readU32(base, r + 52))
            guard (1...4).contains(rank) else { throw fail(.format, "corrupt model: tensor rank out of range") }
            var elements: UInt64 = 1
            for d in 0..<4 {
                let dim = UInt64(readU32(base, r + 56 + 4 * d))
                if d < rank {
                    guard dim > 0 else { throw fail(.format, "corrupt model: zero tensor dimension") }
                    let (product, overflow) = elements.multipliedReportingOverflow(by: dim)
                    guard !overflow, product <= 1 << 36 else { throw fail(.format, "corrupt model: tensor too large") }
                    elements = product
                } else {
                    guard dim == 0 else { throw fail(.format, "corrupt model: shape entry past the rank") }
                }
            }
            let offset = readU64(base, r + 72), bytes = readU64(base, r + 80)
            guard bytes == elements * 4 else { throw fail(.format, "corrupt model: tensor byte length does not match its shape") }
            guard offset % UInt64(ModelFormat.alignment) == 0, offset >= dataOffset, offset <= UInt64(end),
                  bytes <= UInt64(end) - offset else {
                throw fail(.format, "corrupt model: tensor data misaligned or outside the data area")
            }
            for other in 0..<t {
                let o = table + other * ModelFormat.tensorRecordSize
                let oStart = readU64(base, o + 72), oEnd = oStart + readU64(base, o + 80)
                if offset < oEnd && oStart < offset + bytes { throw fail(.format, "corrupt model: tensors overlap") }
            }
        }
    }

    /// Nearest-neighbour layer: args 0 points [n, inputs], 1 targets [n], 2 k, 3 metric, 4 mode,
    /// 5 classes, 6–8 smoothing kernel (code, degree, sigma bits), 9 local-linear sigma bits.
    static func validateNeighbours(base: UnsafeRawPointer, tensors: Int, tensorTable: Int, inputs: Int, outputs: Int,
                                           arg: (Int) -> Int, tensorOK: (Int, [Int]) -> Bool) throws(InferStatus) {
        func fail(_ text: StaticString) -> InferStatus { var m = ErrorMessage(); m.append(text); return .format }
        guard arg(0) < tensors else { throw fail("corrupt model: neighbour layer points missing") }
        let points = tensorRecord(base, tensorTable, arg(0))
        let n = points.shape.0
        guard points.rank == 2, points.shape.1 == inputs, n > 0, tensorOK(arg(1), [n]) else {
            throw fail("corrupt model: neighbour layer points or targets of the wrong shape")
        }
        guard DistanceMetric(code: UInt32(arg(3))) != nil else { throw fail("corrupt model: unknown distance") }
        guard let mode = ModelFormat.NeighbourModeCode(rawValue: UInt32(arg(4))) else {
            throw fail("corrupt model: unknown neighbour mode")
        }
        switch mode {
        case .classify, .regress:
            guard arg(2) >= 1, arg(2) <= min(n, ModelFormat.maxNeighbours) else { throw fail("corrupt model: k out of range") }
            if mode == .regress { guard outputs == 1 else { throw fail("corrupt model: neighbour regression has one output") }; return }
            let classes = arg(5)
            guard classes >= 2, classes <= ModelFormat.maxClasses, outputs == classes else {
                throw fail("corrupt model: neighbour class count does not match the outputs")
            }
            // Every stored label must be a class index: the vote indexes the output with it.
            let labels = (base + tensorRecord(base, tensorTable, arg(1)).offset).assumingMemoryBound(to: Float.self)
            for i in 0..<n {
                let v = labels[i]
                guard v >= 0, v < Float(classes), v == v.rounded(.towardZero) else {
                    throw fail("corrupt model: neighbour label is not a class index")
                }
            }
        case .kernelSmoothing:
            guard outputs == 1, KernelFunction(code: UInt32(arg(6)), degree: UInt32(arg(7)), sigma: Float(bitPattern: UInt32(arg(8)))) != nil else {
                throw fail("corrupt model: kernel smoothing needs one output and a valid kernel")
            }
        case .localLinear:
            let sigma = Float(bitPattern: UInt32(arg(9)))
            guard outputs == 1, inputs <= ModelFormat.maxLocalLinearDimension, sigma > 0, sigma.isFinite else {
                throw fail("corrupt model: local linear regression needs one output, at most 64 inputs and a positive sigma")
            }
        }
    }

    public func layer(_ index: Int) -> Layer {
        precondition(index >= 0 && index < layerCount)
        let r = layerTable + index * ModelFormat.layerRecordSize
        return Layer(kind: ModelFormat.LayerKind(rawValue: readU32(base, r))!, inputs: Int(readU32(base, r + 4)),
                     outputs: Int(readU32(base, r + 8)), arg0: readU32(base, r + 12), arg1: readU32(base, r + 16),
                     record: base + r)
    }

    public func tensor(_ index: Int) -> Tensor {
        precondition(index >= 0 && index < tensorCount)
        return Self.tensorRecord(base, tensorTable, index)
    }

    /// The tensor's name (UTF-8, NUL-terminated inside the file).
    public func tensorName(_ index: Int) -> UnsafePointer<CChar> {
        precondition(index >= 0 && index < tensorCount)
        return (base + tensorTable + index * ModelFormat.tensorRecordSize).assumingMemoryBound(to: CChar.self)
    }

    /// The tensor's values, in place in the file.
    public func floats(_ index: Int) -> UnsafePointer<Float> {
        (base + tensor(index).offset).assumingMemoryBound(to: Float.self)
    }

    static func tensorRecord(_ base: UnsafeRawPointer, _ table: Int, _ index: Int) -> Tensor {
        let r = table + index * ModelFormat.tensorRecordSize
        let rank = Int(readU32(base, r + 52))
        return Tensor(rank: rank, shape: (Int(readU32(base, r + 56)), Int(readU32(base, r + 60)),
                                          Int(readU32(base, r + 64)), Int(readU32(base, r + 68))),
                      offset: Int(readU64(base, r + 72)), byteLength: Int(readU64(base, r + 80)))
    }
}
