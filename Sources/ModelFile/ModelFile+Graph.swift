import LowLevel

/// Where a version-2 file's graph tables are, and its memory plan (docs/FORMAT.md, "Version 2").
public struct GraphSection {
    public let valueCount: Int
    public let nodeCount: Int
    public let argumentCount: Int
    let valueTable: Int
    let nodeTable: Int
    let argumentTable: Int
    /// Bytes of activation memory the stored plan lays the values out in (one sample).
    public let planBytes: Int
    public let inputValue: Int
    public let outputValue: Int
    /// A model with an exact density (a flow): its input and output values (`density.input`,
    /// `density.nll`, −log p) and its nodes, which follow the main output's.
    public let density: (input: Int, output: Int, nodes: Range<Int>)?
    /// The nodes a pass from the main input runs: all of them, or those before the density's.
    public var mainNodes: Range<Int> { 0..<(density?.nodes.lowerBound ?? nodeCount) }
    /// A diffusion model (a DDPM's noise predictor): its timestep input, schedule and sampler.
    public internal(set) var diffusion: DiffusionEntry? = nil
}

extension ModelFile {
    /// One entry of the value table.
    public struct ValueRecord {
        public let element: GraphFormat.ElementCode
        public let role: GraphFormat.RoleCode
        public let rank: Int
        public let isBatched: Bool
        /// Dimensions outermost first (per sample for batched values); entries past `rank` are 0.
        public let dims: (Int, Int, Int, Int)
        /// The tensor holding a parameter's values; nil for other roles.
        public let tensor: Int?
        /// The node computing an activation; nil for other roles.
        public let producer: Int?
        /// Where an input or activation lives in the plan (bytes from its start).
        public let arenaOffset: Int
        /// Elements (per sample when batched).
        public var count: Int {
            var n = 1
            if rank > 0 { n *= dims.0 }
            if rank > 1 { n *= dims.1 }
            if rank > 2 { n *= dims.2 }
            if rank > 3 { n *= dims.3 }
            return n
        }
    }

    /// One entry of the node table.
    public struct NodeRecord {
        public let op: GraphFormat.Op
        public let inputCount: Int
        public let outputCount: Int
        public let argumentFirst: Int
        public let argumentCount: Int
        fileprivate let record: UnsafeRawPointer
        /// The value index of input `j` (< inputCount).
        public func input(_ j: Int) -> Int { Int(readU32(record, 68 + 4 * j)) }
        /// The value index of output `j` (< outputCount).
        public func output(_ j: Int) -> Int { Int(readU32(record, 92 + 4 * j)) }
    }

    /// One named argument: a list of 1 to 6 integers (signed 32-bit) or floats.
    public struct ArgumentRecord {
        public let type: GraphFormat.ArgumentType
        public let count: Int
        fileprivate let record: UnsafeRawPointer
        public func int(_ j: Int) -> Int { Int(Int32(bitPattern: readU32(record, 24 + 4 * j))) }
        public func float(_ j: Int) -> Float { Float(bitPattern: readU32(record, 24 + 4 * j)) }
    }

    public func value(_ index: Int) -> ValueRecord {
        precondition(graph != nil && index >= 0 && index < graph!.valueCount)
        return Self.valueRecord(base, graph!.valueTable, index)
    }

    public func valueName(_ index: Int) -> UnsafePointer<CChar> {
        precondition(graph != nil && index >= 0 && index < graph!.valueCount)
        return (base + graph!.valueTable + index * GraphFormat.valueRecordSize).assumingMemoryBound(to: CChar.self)
    }

    public func node(_ index: Int) -> NodeRecord {
        precondition(graph != nil && index >= 0 && index < graph!.nodeCount)
        return Self.nodeRecord(base, graph!.nodeTable, index)
    }

    public func nodeName(_ index: Int) -> UnsafePointer<CChar> {
        precondition(graph != nil && index >= 0 && index < graph!.nodeCount)
        return (base + graph!.nodeTable + index * GraphFormat.nodeRecordSize).assumingMemoryBound(to: CChar.self)
    }

    /// The node's argument called `name`, nil when it has none.
    public func argument(_ node: NodeRecord, _ name: StaticString) -> ArgumentRecord? {
        Self.argument(base, graph!.argumentTable, node, name)
    }

    /// The argument record at `index` of the argument table, and its name.
    public func argumentRecord(_ index: Int) -> (name: UnsafePointer<CChar>, argument: ArgumentRecord) {
        precondition(graph != nil && index >= 0 && index < graph!.argumentCount)
        let r = base + graph!.argumentTable + index * GraphFormat.argumentRecordSize
        return (r.assumingMemoryBound(to: CChar.self), ArgumentRecord(type: GraphFormat.ArgumentType(rawValue: readU32(r, 16))!,
                                                                       count: Int(readU32(r, 20)), record: r))
    }

    // MARK: - Reading records (callers have checked the table ranges)

    static func valueRecord(_ base: UnsafeRawPointer, _ table: Int, _ index: Int) -> ValueRecord {
        let r = table + index * GraphFormat.valueRecordSize
        let role = GraphFormat.RoleCode(rawValue: readU32(base, r + 52))!
        let tensor = readU32(base, r + 80), producer = readU32(base, r + 84)
        return ValueRecord(element: GraphFormat.ElementCode(rawValue: readU32(base, r + 48))!, role: role,
                           rank: Int(readU32(base, r + 56)), isBatched: readU32(base, r + 60) != 0,
                           dims: (Int(readU32(base, r + 64)), Int(readU32(base, r + 68)), Int(readU32(base, r + 72)),
                                  Int(readU32(base, r + 76))),
                           tensor: role == .parameter ? Int(tensor) : nil, producer: role == .activation ? Int(producer) : nil,
                           arenaOffset: Int(clamping: readU64(base, r + 88)))
    }

    static func nodeRecord(_ base: UnsafeRawPointer, _ table: Int, _ index: Int) -> NodeRecord {
        let r = table + index * GraphFormat.nodeRecordSize
        return NodeRecord(op: GraphFormat.Op(rawValue: readU32(base, r + 48))!, inputCount: Int(readU32(base, r + 52)),
                          outputCount: Int(readU32(base, r + 56)), argumentFirst: Int(readU32(base, r + 60)),
                          argumentCount: Int(readU32(base, r + 64)), record: base + r)
    }

    static func argument(_ base: UnsafeRawPointer, _ table: Int, _ node: NodeRecord, _ name: StaticString) -> ArgumentRecord? {
        for a in node.argumentFirst..<(node.argumentFirst + node.argumentCount) {
            let r = base + table + a * GraphFormat.argumentRecordSize
            let matches = name.withUTF8Buffer { wanted -> Bool in
                guard wanted.count < GraphFormat.argumentNameBytes else { return false }
                for i in 0..<wanted.count where r.load(fromByteOffset: i, as: UInt8.self) != wanted[i] { return false }
                return r.load(fromByteOffset: wanted.count, as: UInt8.self) == 0
            }
            if matches {
                return ArgumentRecord(type: GraphFormat.ArgumentType(rawValue: readU32(r, 16))!, count: Int(readU32(r, 20)), record: r)
            }
        }
        return nil
    }

    // MARK: - Validation

    /// A version-2 file (envelope already checked). Every table entry is checked before any is
    /// read through the accessors above, which therefore never trap on a validated file.
    init(graphAt base: UnsafeRawPointer, length: Int) throws(InferStatus) {
        func fail(_ text: StaticString) -> InferStatus { var m = ErrorMessage(); m.append(text); return .format }
        let values = Int(readU32(base, 16)), nodes = Int(readU32(base, 20))
        let arguments = Int(readU32(base, 88)), tensors = Int(readU32(base, 92))
        guard (1...GraphFormat.maxValues).contains(values) else { throw fail("corrupt model: value count out of range") }
        guard (1...GraphFormat.maxNodes).contains(nodes) else { throw fail("corrupt model: node count out of range") }
        guard arguments <= GraphFormat.maxArguments else { throw fail("corrupt model: argument count out of range") }
        guard tensors <= ModelFormat.maxTensors else { throw fail("corrupt model: tensor count out of range") }
        let end = length - 4
        func range(_ offset: UInt64, _ size: Int) -> Int? {
            guard offset >= UInt64(ModelFormat.headerSize), offset <= UInt64(end), UInt64(size) <= UInt64(end) - offset else { return nil }
            return Int(offset)
        }
        guard let valueTable = range(readU64(base, 24), values * GraphFormat.valueRecordSize) else {
            throw fail("corrupt model: value table outside the file")
        }
        guard let nodeTable = range(readU64(base, 32), nodes * GraphFormat.nodeRecordSize) else {
            throw fail("corrupt model: node table outside the file")
        }
        guard let argumentTable = range(readU64(base, 96), arguments * GraphFormat.argumentRecordSize) else {
            throw fail("corrupt model: argument table outside the file")
        }
        guard let tensorTable = range(readU64(base, 104), tensors * ModelFormat.tensorRecordSize) else {
            throw fail("corrupt model: tensor table outside the file")
        }
        let dataOffset = readU64(base, 40)
        guard dataOffset % UInt64(ModelFormat.alignment) == 0, range(dataOffset, 0) != nil else {
            throw fail("corrupt model: data offset misaligned or outside the file")
        }
        guard readU32(base, 56) == 2 else { throw fail("corrupt model: unknown model kind") }
        let c = Int(readU32(base, 64)), h = Int(readU32(base, 68)), w = Int(readU32(base, 72))
        guard c > 0, h > 0, w > 0, c <= 1 << 16, h <= 1 << 16, w <= 1 << 16, c * h * w <= 1 << 28 else {
            throw fail("corrupt model: impossible input shape")
        }
        let outputLength = Int(readU32(base, 76))
        guard let outputKind = ModelFormat.OutputKind(rawValue: readU32(base, 80)) else { throw fail("corrupt model: unknown output kind") }
        guard let encoding = ModelFormat.InputEncoding(rawValue: readU32(base, 84)) else {
            throw fail("corrupt model: unknown input encoding")
        }
        let planBytes = readU64(base, 112)
        guard planBytes <= 1 << 40 else { throw fail("corrupt model: plan size out of range") }
        let inputValue = Int(readU32(base, 120)), outputValue = Int(readU32(base, 124))
        guard inputValue < values, outputValue < values else { throw fail("corrupt model: input or output value out of range") }
        try Self.validateTensors(base: base, count: tensors, table: tensorTable, dataOffset: dataOffset, end: end)
        try Self.validateArguments(base: base, count: arguments, table: argumentTable)
        let (densityInput, timeInput) = try Self.validateValues(base: base, count: values, table: valueTable, nodes: nodes, tensors: tensors,
                                                   tensorTable: tensorTable, planBytes: Int(planBytes), input: inputValue, inputLength: c * h * w)
        var density: (input: Int, output: Int, nodes: Range<Int>)? = nil
        if let densityInput {
            let output = Self.valueRecord(base, valueTable, outputValue)
            guard let d = (0..<values).first(where: { Self.valueName(base, valueTable, $0, is: GraphFormat.densityOutputName) }),
                  case let nll = Self.valueRecord(base, valueTable, d), nll.role == .activation, nll.element == .float32, nll.count == 1,
                  let last = nll.producer, let first = output.producer, first < last else {
                throw fail("corrupt model: a density input without a density output (one float computed after the main output)")
            }
            density = (densityInput, d, (first + 1)..<(last + 1))
        }
        var section = GraphSection(valueCount: values, nodeCount: nodes, argumentCount: arguments, valueTable: valueTable,
                                   nodeTable: nodeTable, argumentTable: argumentTable, planBytes: Int(planBytes),
                                   inputValue: inputValue, outputValue: outputValue, density: density)
        if let timeInput {
            guard density == nil, encoding == .gaussianLatent, outputLength == c * h * w else {
                throw fail("corrupt model: a diffusion model samples images of its input's size and has no density entry")
            }
            section.diffusion = try Self.diffusionEntry(base: base, section: section, tensorTable: tensorTable, time: timeInput)
        }
        let scratch = try Self.validateNodes(base: base, section: section, tensors: tensors, tensorTable: tensorTable)
        // Every activation's producer lists it among its outputs.
        for v in 0..<values {
            let value = Self.valueRecord(base, valueTable, v)
            guard let p = value.producer else { continue }
            let node = Self.nodeRecord(base, nodeTable, p)
            guard (0..<node.outputCount).contains(where: { node.output($0) == v }) else {
                var m = ErrorMessage()
                m.append("corrupt model: value "); m.append(v); m.append(" names node "); m.append(p)
                m.append(" as its producer, which does not output it")
                throw .format
            }
        }
        let output = Self.valueRecord(base, valueTable, outputValue)
        guard output.role == .activation, output.element == .float32, output.count == outputLength else {
            throw fail("corrupt model: the output value is not a float32 activation of output_length elements")
        }
        let vocabulary = try Self.vocabulary(base: base, section: section, tensorTable: tensorTable, output: output)
        self.init(base: base, length: length, nodes: nodes, tensors: tensors, tensorTable: tensorTable, input: (c, h, w),
                  outputLength: outputLength, outputKind: outputKind, inputEncoding: encoding, scratch: scratch, graph: section,
                  vocabulary: vocabulary)
    }

    /// A sequence model's vocabulary: the parameter named `vocabulary`, the byte each token id
    /// stands for (as floats). Nil without one; corrupt when its bytes are not distinct integers
    /// 0…255, one per logit of a position, or the input is not token ids.
    private static func vocabulary(base: UnsafeRawPointer, section: GraphSection, tensorTable: Int,
                                   output: ValueRecord) throws(InferStatus) -> Int? {
        func fail(_ text: StaticString) -> InferStatus { var m = ErrorMessage(); m.append(text); return .format }
        for v in 0..<section.valueCount {
            let r = base + section.valueTable + v * GraphFormat.valueRecordSize
            let matches = ("vocabulary" as StaticString).withUTF8Buffer { name in
                (0..<name.count).allSatisfy { r.load(fromByteOffset: $0, as: UInt8.self) == name[$0] }
                    && r.load(fromByteOffset: name.count, as: UInt8.self) == 0
            }
            guard matches, let t = valueRecord(base, section.valueTable, v).tensor else { continue }
            let tensor = tensorRecord(base, tensorTable, t)
            guard valueRecord(base, section.valueTable, section.inputValue).element == .int32, tensor.rank == 1,
                  tensor.count == lastDimension(output), tensor.count <= 256 else {
                throw fail("corrupt model: the vocabulary must hold one byte per logit of a sequence model (at most 256)")
            }
            var seen = (UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            let bytes = (base + tensor.offset).assumingMemoryBound(to: Float.self)
            for i in 0..<tensor.count {
                let b = bytes[i]
                guard b >= 0, b <= 255, b == b.rounded() else { throw fail("corrupt model: a vocabulary entry is not a byte") }
                let k = Int(b), bit = UInt64(1) << UInt64(k % 64)
                let word: UInt64
                switch k / 64 { case 0: word = seen.0; case 1: word = seen.1; case 2: word = seen.2; default: word = seen.3 }
                guard word & bit == 0 else { throw fail("corrupt model: a byte appears twice in the vocabulary") }
                switch k / 64 { case 0: seen.0 |= bit; case 1: seen.1 |= bit; case 2: seen.2 |= bit; default: seen.3 |= bit }
            }
            return t
        }
        return nil
    }

    private static func terminated(_ p: UnsafeRawPointer, _ bytes: Int) -> Bool {
        (0..<bytes).contains { p.load(fromByteOffset: $0, as: UInt8.self) == 0 }
    }

    private static func validateArguments(base: UnsafeRawPointer, count: Int, table: Int) throws(InferStatus) {
        for a in 0..<count {
            let r = base + table + a * GraphFormat.argumentRecordSize
            func fail(_ text: StaticString) -> InferStatus {
                var m = ErrorMessage(); m.append("corrupt model: argument "); m.append(a); m.append(": "); m.append(text); return .format
            }
            guard terminated(r, GraphFormat.argumentNameBytes), r.load(as: UInt8.self) != 0 else { throw fail("name empty or not terminated") }
            guard GraphFormat.ArgumentType(rawValue: readU32(r, 16)) != nil else { throw fail("unknown type") }
            guard (1...GraphFormat.maxArgumentValues).contains(Int(readU32(r, 20))) else { throw fail("count out of range") }
        }
    }

    /// Whether value `v`'s name (validated as terminated) is `name`.
    static func valueName(_ base: UnsafeRawPointer, _ table: Int, _ v: Int, is name: StaticString) -> Bool {
        let p = (base + table + v * GraphFormat.valueRecordSize).assumingMemoryBound(to: UInt8.self)
        let n = name.utf8CodeUnitCount
        for i in 0..<n where p[i] != name.utf8Start[i] { return false }
        return p[n] == 0
    }

    /// Checks every value record; returns the density input's and the diffusion time input's
    /// indices when the file has them.
    private static func validateValues(base: UnsafeRawPointer, count: Int, table: Int, nodes: Int, tensors: Int, tensorTable: Int,
                                       planBytes: Int, input: Int, inputLength: Int) throws(InferStatus) -> (density: Int?, time: Int?) {
        var densityInput: Int? = nil, timeInput: Int? = nil
        for v in 0..<count {
            let r = table + v * GraphFormat.valueRecordSize
            func fail(_ text: StaticString) -> InferStatus {
                var m = ErrorMessage(); m.append("corrupt model: value "); m.append(v); m.append(" (")
                m.append(cString: (base + r).assumingMemoryBound(to: CChar.self), limit: GraphFormat.nameBytes)
                m.append("): "); m.append(text); return .format
            }
            guard terminated(base + r, GraphFormat.nameBytes) else { throw fail("name not terminated") }
            guard GraphFormat.ElementCode(rawValue: readU32(base, r + 48)) != nil else { throw fail("unknown element type") }
            guard let role = GraphFormat.RoleCode(rawValue: readU32(base, r + 52)) else { throw fail("unknown role") }
            let rank = Int(readU32(base, r + 56)), batched = readU32(base, r + 60)
            guard rank <= 4 else { throw fail("rank above 4") }
            guard batched <= 1, (batched == 1) == (role != .parameter) else {
                throw fail("inputs and activations are batched, parameters are not")
            }
            var elements = 1
            for d in 0..<4 {
                let dim = Int(readU32(base, r + 64 + 4 * d))
                if d < rank {
                    guard dim > 0, dim <= 1 << 28 else { throw fail("dimension zero or too large") }
                    elements *= dim
                    guard elements <= 1 << 28 else { throw fail("too many elements") }
                } else {
                    guard dim == 0 else { throw fail("shape entry past the rank") }
                }
            }
            let value = valueRecord(base, table, v)
            switch role {
            case .parameter:
                guard let t = value.tensor, t < tensors else { throw fail("parameter without a tensor") }
                let tensor = tensorRecord(base, tensorTable, t)
                guard value.element == .float32, tensor.rank == max(rank, 1), tensor.count == elements,
                      rank == 0 || (tensor.shape.0 == value.dims.0 && tensor.shape.1 == value.dims.1
                                    && tensor.shape.2 == value.dims.2 && tensor.shape.3 == value.dims.3) else {
                    throw fail("tensor of another shape or type than the value")
                }
            case .input, .activation:
                guard readU32(base, r + 80) == GraphFormat.noTensor else { throw fail("only parameters have tensors") }
                guard value.arenaOffset % ModelFormat.alignment == 0, value.arenaOffset <= planBytes,
                      elements * 4 <= planBytes - value.arenaOffset else {
                    throw fail("planned bytes misaligned or outside the plan")
                }
                if role == .input {
                    if v != input, densityInput == nil, valueName(base, table, v, is: GraphFormat.densityInputName) {
                        guard elements == inputLength, value.element == .float32 else {
                            throw fail("the density input must be floats of the header's input length")
                        }
                        densityInput = v
                        continue
                    }
                    if v != input, timeInput == nil, valueName(base, table, v, is: GraphFormat.diffusionTimeName) {
                        guard value.element == .float32 else { throw fail("the diffusion time input must be floats") }
                        timeInput = v
                        continue
                    }
                    guard v == input, elements == inputLength else {
                        throw fail("the one input must be the header's, of the header's input length (besides a density or diffusion time input)")
                    }
                } else {
                    guard let p = value.producer, p < nodes else { throw fail("producer out of range") }
                }
            }
        }
        guard valueRecord(base, table, input).role == .input else { throw .format }
        return (densityInput, timeInput)
    }

    /// Checks every node (op, value ids, order, shapes, arguments) and returns the scratch the
    /// runtime needs for them.
    private static func validateNodes(base: UnsafeRawPointer, section: GraphSection, tensors: Int,
                                      tensorTable: Int) throws(InferStatus) -> (Int, Int, Int, Int, Int) {
        var columns = 0, neighbours = 0, localLinear = 0, dense = 0, attention = 0
        for i in 0..<section.nodeCount {
            let r = section.nodeTable + i * GraphFormat.nodeRecordSize
            func fail(_ text: StaticString) -> InferStatus {
                var m = ErrorMessage(); m.append("corrupt model: node "); m.append(i); m.append(" (")
                m.append(cString: (base + r).assumingMemoryBound(to: CChar.self), limit: GraphFormat.nameBytes)
                m.append("): "); m.append(text); return .format
            }
            guard terminated(base + r, GraphFormat.nameBytes) else { throw fail("name not terminated") }
            guard let op = GraphFormat.Op(rawValue: readU32(base, r + 48)) else { throw fail("unknown op") }
            let inputs = Int(readU32(base, r + 52)), outputs = Int(readU32(base, r + 56))
            guard inputs == op.arity.inputs, outputs == op.arity.outputs else { throw fail("wrong number of inputs or outputs for its op") }
            let first = Int(readU32(base, r + 60)), count = Int(readU32(base, r + 64))
            guard count <= GraphFormat.maxNodeArguments, first <= section.argumentCount, count <= section.argumentCount - first else {
                throw fail("arguments outside the argument table")
            }
            let node = nodeRecord(base, section.nodeTable, i)
            for j in 0..<inputs {
                let v = node.input(j)
                guard v < section.valueCount else { throw fail("input value out of range") }
                if let p = valueRecord(base, section.valueTable, v).producer, p >= i {
                    throw fail("reads a value computed by a later node (or by itself)")
                }
            }
            for j in 0..<outputs {
                let v = node.output(j)
                guard v < section.valueCount, valueRecord(base, section.valueTable, v).producer == i else {
                    throw fail("output out of range or not an activation this node produces")
                }
            }
            func value(_ j: Int) -> ValueRecord { valueRecord(base, section.valueTable, node.input(j)) }
            let y = valueRecord(base, section.valueTable, node.output(0))
            let x = value(0)
            func arg(_ name: StaticString) -> ArgumentRecord? { argument(base, section.argumentTable, node, name) }
            func ints(_ name: StaticString, _ n: Int) -> ArgumentRecord? {
                guard let a = arg(name), a.type == .ints, a.count == n else { return nil }
                return a
            }
            func parameter(_ j: Int) -> ValueRecord? { let p = value(j); return p.role == .parameter ? p : nil }
            func floatData(_ v: ValueRecord) -> Bool { v.role != .parameter && v.element == .float32 }
            // Element-wise ops may also read parameters (a flow's constants and per-position scales).
            let elementwise: Set<GraphFormat.Op> = [.add, .mul, .sub, .exp, .neg, .log, .square, .sum, .addPerChannel]
            let readable = elementwise.contains(op) ? x.element == .float32 : floatData(x)
            guard op == .embedding ? x.element == .int32 && x.role == .input : readable, y.element == .float32 else {
                throw fail("reads or writes a value of the wrong element type (embeddings read the int32 input, the rest float32 data)")
            }
            switch op {
            case .dense:
                guard let w = parameter(1), let b = parameter(2), w.rank == 2, w.dims.0 == x.count, b.rank == 1,
                      b.dims.0 == w.dims.1, y.count == w.dims.1 else {
                    throw fail("dense shapes do not fit: x [n], weight [n, m], bias [m], y [m]")
                }
                dense = max(dense, x.count)
            case .relu, .elu, .sigmoid, .tanh, .reshape:
                guard y.count == x.count else { throw fail("output length differs from the input's") }
            case .add, .mul, .sub:
                let b = value(1), n = y.count, row = lastDimension(y)
                func fits(_ v: ValueRecord) -> Bool { v.count == n || v.count == 1 || (v.count == row && n % row == 0) }
                guard b.element == .float32, fits(x), fits(b), max(x.count, b.count) == n else {
                    throw fail("add, mul and sub need two float inputs, each of the output's length, one element, or one row of its last dimension")
                }
            case .exp, .neg, .log, .square:
                guard y.count == x.count else { throw fail("output length differs from the input's") }
            case .sum:
                guard y.count == 1 else { throw fail("sum gives one element") }
            case .concat:
                let b = value(1)
                guard floatData(b), x.rank >= 1, b.rank == x.rank, y.rank == x.rank, x.count / x.dims.0 == b.count / b.dims.0,
                      y.dims.0 == x.dims.0 + b.dims.0, y.count == x.count + b.count,
                      lastDimension(x) == lastDimension(b), lastDimension(y) == lastDimension(x) else {
                    throw fail("concat needs a [C1, ...] and b [C2, ...] of one trailing shape, and y [C1 + C2, ...]")
                }
            case .upsample2d:
                guard let f = ints("factor", 1), (1...64).contains(f.int(0)), x.rank == 3, y.rank == 3, y.dims.0 == x.dims.0,
                      y.dims.1 == x.dims.1 * f.int(0), y.dims.2 == x.dims.2 * f.int(0) else {
                    throw fail("upsample2d needs x [C, H, W], a factor in 1...64 and y [C, H·factor, W·factor]")
                }
            case .addPerChannel:
                let b = value(1)
                guard b.element == .float32, x.rank >= 2, b.count == x.dims.0, y.count == x.count, y.rank == x.rank else {
                    throw fail("addPerChannel needs x [C, ...], b [C] and y of x's shape")
                }
            case .embedding:
                guard let table = parameter(1), table.rank == 2, x.rank == 1, y.rank == 2, y.dims.0 == x.dims.0, y.dims.1 == table.dims.1 else {
                    throw fail("embedding needs int32 ids [T], a table [V, C] and y [T, C]")
                }
            case .layerNorm:
                let d = lastDimension(x)
                guard let gamma = parameter(1), let beta = parameter(2), gamma.count == d, beta.count == d, gamma.rank == 1, beta.rank == 1,
                      y.count == x.count, d > 0 else {
                    throw fail("layer norm needs x [..., D], γ [D], β [D]")
                }
                if let e = arg("epsilon"), e.type != .floats || e.count != 1 || !(e.float(0) > 0 && e.float(0) < 1) {
                    throw fail("layer norm's epsilon must be one float in (0, 1)")
                }
            case .matmul:
                guard let w = parameter(1), w.rank == 2, let t = ints("transposeB", 1), (0...1).contains(t.int(0)) else {
                    throw fail("matmul needs a weight [K, N] (or [N, K] with transposeB 1) and a transposeB argument")
                }
                let (k, n) = t.int(0) == 1 ? (w.dims.1, w.dims.0) : (w.dims.0, w.dims.1)
                guard lastDimension(x) == k, y.count == x.count / k * n, lastDimension(y) == n else {
                    throw fail("matmul shapes do not fit: x [..., K], y [..., N]")
                }
            case .slice:
                guard let c = ints("columns", 2) else { throw fail("slice needs columns [start, count]") }
                let n = lastDimension(x), start = c.int(0), count = c.int(1)
                guard start >= 0, count >= 1, start <= n, count <= n - start, lastDimension(y) == count, y.count == x.count / n * count else {
                    throw fail("slice columns outside the input, or an output of another shape")
                }
            case .attention:
                guard let h = ints("heads", 1), let c = ints("causal", 1), (0...1).contains(c.int(0)), x.rank == 2,
                      floatData(value(1)), floatData(value(2)), value(1).dims == x.dims, value(2).dims == x.dims, value(1).rank == 2,
                      value(2).rank == 2, y.dims == x.dims, y.rank == 2 else {
                    throw fail("attention needs q, k, v and y of one shape [T, D], and heads and causal arguments")
                }
                guard h.int(0) >= 1, x.dims.1 % h.int(0) == 0, x.dims.0 <= 1 << 12, h.int(0) * x.dims.0 * x.dims.0 <= 1 << 26 else {
                    throw fail("attention heads must divide the width, and heads × T² stay below 2²⁶")
                }
                // The weights [heads, T, T], then the kernel's scratch.
                attention = max(attention, h.int(0) * x.dims.0 * x.dims.0
                                + Kernels.attentionScratch(length: x.dims.0, width: x.dims.1, heads: h.int(0)))
            case .gelu:
                guard y.count == x.count else { throw fail("output length differs from the input's") }
            case .transpose:
                guard x.rank == 2, y.rank == 2, y.dims.0 == x.dims.1, y.dims.1 == x.dims.0 else {
                    throw fail("transpose needs x [M, N] and y [N, M]")
                }
            case .conv2d:
                guard let g = ints("geometry", 6), let wv = parameter(1), let b = parameter(2), x.rank == 3, wv.rank == 4,
                      y.rank == 3, b.rank == 1 else {
                    throw fail("conv2d needs x [C, H, W], weight [F, C, kh, kw], bias [F] and a 6-integer geometry")
                }
                if let relu = arg("relu"), relu.type != .ints || relu.count != 1 || !(0...1).contains(relu.int(0)) {
                    throw fail("conv2d's relu argument must be 0 or 1")
                }
                let bounded = (0..<6).allSatisfy { k in k == 2 || k == 3 ? (0...(1 << 14)).contains(g.int(k)) : (1...(1 << 14)).contains(g.int(k)) }
                guard bounded, x.dims.0 <= 1 << 14, x.dims.1 <= 1 << 14, x.dims.2 <= 1 << 14, wv.dims.2 <= 1 << 14, wv.dims.3 <= 1 << 14,
                      g.int(2) < wv.dims.2, g.int(3) < wv.dims.3 else {
                    throw fail("convolution sizes out of range")
                }
                guard wv.dims.1 == x.dims.0, b.dims.0 == wv.dims.0, y.dims.0 == wv.dims.0, y.dims.1 == g.int(4), y.dims.2 == g.int(5) else {
                    throw fail("convolution shapes do not match its geometry")
                }
                guard x.dims.0 * wv.dims.2 * wv.dims.3 * y.dims.1 * y.dims.2 <= 1 << 26 else { throw fail("convolution too large") }
                columns = max(columns, Convolution.scratchForOne(Self.convGeometry(x: x, weight: wv, y: y, geometry: g)))
            case .maxPool2d, .avgPool2d:
                guard let wnd = ints("window", 4), x.rank == 3, y.rank == 3, (0..<4).allSatisfy({ (1...(1 << 14)).contains(wnd.int($0)) }),
                      wnd.int(0) <= x.dims.1, wnd.int(1) <= x.dims.2 else {
                    throw fail("pooling needs x [C, H, W] and a window [height, width, stride y, stride x] that fits")
                }
                guard y.dims.0 == x.dims.0, y.dims.1 == 1 + (x.dims.1 - wnd.int(0)) / wnd.int(2),
                      y.dims.2 == 1 + (x.dims.2 - wnd.int(1)) / wnd.int(3) else {
                    throw fail("pooling output shape does not match its window")
                }
            case .channelAffine:
                guard let s = parameter(1), let t = parameter(2), s.rank == 1, t.rank == 1, s.dims.0 == t.dims.0,
                      x.count % s.dims.0 == 0, y.count == x.count, x.rank >= 1, x.dims.0 == s.dims.0 else {
                    throw fail("channel affine needs x [C, ...], scale [C], shift [C]")
                }
            case .kernel:
                guard let p = parameter(1), p.rank == 2, p.dims.1 == x.count, y.count == p.dims.0, ints("kernel", 2) != nil else {
                    throw fail("kernel needs x [d], points [N, d], y [N] and a kernel argument")
                }
                guard kernelFunction(base, section.argumentTable, node) != nil else { throw fail("unknown kernel or bad kernel parameters") }
            case .pairwiseVote:
                guard let k = ints("classes", 1), (2...ModelFormat.maxClasses).contains(k.int(0)), y.count == k.int(0),
                      x.count == k.int(0) * (k.int(0) - 1) / 2 else {
                    throw fail("vote lengths do not match its class count")
                }
            case .nearestNeighbours:
                guard let p = parameter(1), let t = parameter(2), p.rank == 2, t.rank == 1, let pt = p.tensor, let tt = t.tensor else {
                    throw fail("nearest neighbours needs points [N, d] and targets [N]")
                }
                guard let arg = neighbourArguments(base: base, section: section, node: node, points: pt, targets: tt) else {
                    throw fail("nearest neighbours arguments missing or of the wrong type")
                }
                func tensorOK(_ index: Int, _ shape: [Int]) -> Bool {
                    let t = tensorRecord(base, tensorTable, index)
                    return t.rank == shape.count && Array([t.shape.0, t.shape.1, t.shape.2, t.shape.3].prefix(t.rank)) == shape
                }
                try validateNeighbours(base: base, tensors: tensors, tensorTable: tensorTable, inputs: x.count, outputs: y.count,
                                       arg: arg, tensorOK: tensorOK)
                if arg(4) == Int(ModelFormat.NeighbourModeCode.localLinear.rawValue) {
                    localLinear = max(localLinear, x.count)
                } else if arg(4) <= Int(ModelFormat.NeighbourModeCode.regress.rawValue) {
                    neighbours = max(neighbours, arg(2))
                }
            }
        }
        return (columns, neighbours, localLinear, dense, attention)
    }

    /// The last dimension of a value (1 for a scalar).
    public static func lastDimension(_ v: ValueRecord) -> Int {
        switch v.rank {
        case 0: 1
        case 1: v.dims.0
        case 2: v.dims.1
        case 3: v.dims.2
        default: v.dims.3
        }
    }

    /// A conv2d node's geometry from its value records and `geometry` argument (validated).
    static func convGeometry(x: ValueRecord, weight: ValueRecord, y: ValueRecord, geometry g: ArgumentRecord) -> ConvGeometry {
        ConvGeometry(input: Shape3(channels: x.dims.0, height: x.dims.1, width: x.dims.2),
                     output: Shape3(channels: y.dims.0, height: y.dims.1, width: y.dims.2),
                     kernelHeight: weight.dims.2, kernelWidth: weight.dims.3, strideY: g.int(0), strideX: g.int(1),
                     padTop: g.int(2), padLeft: g.int(3))
    }

    /// A kernel node's function from its `kernel` [code, degree] and optional `sigma` arguments,
    /// nil when they name no valid kernel.
    static func kernelFunction(_ base: UnsafeRawPointer, _ table: Int, _ node: NodeRecord) -> KernelFunction? {
        guard let k = argument(base, table, node, "kernel"), k.type == .ints, k.count == 2 else { return nil }
        var sigma: Float = 0
        if let s = argument(base, table, node, "sigma") {
            guard s.type == .floats, s.count == 1 else { return nil }
            sigma = s.float(0)
        }
        return KernelFunction(code: UInt32(truncatingIfNeeded: k.int(0)), degree: UInt32(truncatingIfNeeded: k.int(1)), sigma: sigma)
    }

    /// The kernel node's function in a validated file.
    public func kernelFunction(_ node: NodeRecord) -> KernelFunction { Self.kernelFunction(base, graph!.argumentTable, node)! }

    /// The conv2d node's geometry in a validated file.
    public func convGeometry(_ node: NodeRecord) -> ConvGeometry {
        Self.convGeometry(x: value(node.input(0)), weight: value(node.input(1)), y: value(node.output(0)),
                          geometry: argument(node, "geometry")!)
    }

    /// A nearest-neighbours node's arguments in version 1's order (0 points tensor, 1 targets
    /// tensor, 2 k, 3 metric, 4 mode, 5 classes, 6–8 smoothing kernel code, degree and σ bits,
    /// 9 local-linear σ bits), so one validation and one runtime path serve both versions. Nil
    /// when an argument the mode needs is missing or mistyped.
    static func neighbourArguments(base: UnsafeRawPointer, section: GraphSection, node: NodeRecord, points: Int,
                                   targets: Int) -> ((Int) -> Int)? {
        func arg(_ name: StaticString, _ type: GraphFormat.ArgumentType, _ n: Int) -> ArgumentRecord? {
            guard let a = argument(base, section.argumentTable, node, name), a.type == type, a.count == n else { return nil }
            return a
        }
        guard let k = arg("k", .ints, 1), let metric = arg("metric", .ints, 1), let mode = arg("mode", .ints, 1) else { return nil }
        let classes = arg("classes", .ints, 1)?.int(0) ?? 0
        var kernel = (0, 0, 0)
        if let f = arg("kernel", .ints, 2) {
            kernel = (f.int(0), f.int(1), Int(arg("sigma", .floats, 1)?.float(0).bitPattern ?? 0))
        }
        let bandwidth = Int(arg("bandwidth", .floats, 1)?.float(0).bitPattern ?? 0)
        // Version 1's fields are unsigned: a negative integer reads as its 32-bit pattern, out of range.
        func u(_ v: Int) -> Int { Int(UInt32(truncatingIfNeeded: v)) }
        let fields = (points, targets, u(k.int(0)), u(metric.int(0)), u(mode.int(0)), u(classes), u(kernel.0), u(kernel.1),
                      u(kernel.2), u(bandwidth))
        return { i in
            switch i {
            case 0: fields.0
            case 1: fields.1
            case 2: fields.2
            case 3: fields.3
            case 4: fields.4
            case 5: fields.5
            case 6: fields.6
            case 7: fields.7
            case 8: fields.8
            default: fields.9
            }
        }
    }

    /// The nearest-neighbours node's arguments in version 1's order (see `neighbourArguments`).
    public func neighbourArguments(_ node: NodeRecord) -> (Int) -> Int {
        Self.neighbourArguments(base: base, section: graph!, node: node, points: value(node.input(1)).tensor!,
                                targets: value(node.input(2)).tensor!)!
    }
}
