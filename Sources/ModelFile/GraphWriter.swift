/// A graph to write as a version-2 model file (docs/FORMAT.md, "Version 2"): the value table,
/// the nodes in order, the parameters' tensors and the memory plan. Built by the Training module
/// from a `Graph` (networks) or from `ModelStage`s (the classic models).
public struct GraphFile {
    public struct Value {
        public var name: String
        public var element: GraphFormat.ElementCode
        public var role: GraphFormat.RoleCode
        /// Per sample for inputs and activations.
        public var shape: [Int]
        /// Parameters: the index of their tensor in `tensors`.
        public var tensor: Int?
        /// Activations: the index of the node computing them.
        public var producer: Int?
        /// Inputs and activations: bytes from the start of the plan.
        public var arenaOffset: Int

        public init(name: String, element: GraphFormat.ElementCode = .float32, role: GraphFormat.RoleCode, shape: [Int],
                    tensor: Int? = nil, producer: Int? = nil, arenaOffset: Int = 0) {
            self.name = name
            self.element = element
            self.role = role
            self.shape = shape
            self.tensor = tensor
            self.producer = producer
            self.arenaOffset = arenaOffset
        }
    }

    public enum Argument: Equatable {
        case ints([Int])
        case floats([Float])
    }

    public struct Node {
        public var name: String
        public var op: GraphFormat.Op
        public var inputs: [Int]
        public var outputs: [Int]
        /// Named arguments, written in this order.
        public var arguments: [(name: String, value: Argument)]

        public init(name: String, op: GraphFormat.Op, inputs: [Int], outputs: [Int], arguments: [(name: String, value: Argument)] = []) {
            self.name = name
            self.op = op
            self.inputs = inputs
            self.outputs = outputs
            self.arguments = arguments
        }
    }

    public var values: [Value] = []
    public var nodes: [Node] = []
    public var tensors: [ModelTensor] = []
    public var input = 0
    public var output = 0
    /// Bytes the plan lays inputs and activations out in.
    public var planBytes = 0

    public init() {}

    /// Adds a parameter value holding `tensor` and returns its index.
    public mutating func parameter(_ tensor: ModelTensor) -> Int {
        tensors.append(tensor)
        values.append(Value(name: tensor.name, role: .parameter, shape: tensor.shape, tensor: tensors.count - 1))
        return values.count - 1
    }
}

extension ModelWriter {
    /// The version-2 file for `graph`.
    public static func serialise(graph: GraphFile, description: Description) throws(ModelWriteError) -> [UInt8] {
        func fail(_ m: String) -> ModelWriteError { ModelWriteError(message: m) }
        let values = graph.values, nodes = graph.nodes
        guard (1...GraphFormat.maxValues).contains(values.count), (1...GraphFormat.maxNodes).contains(nodes.count),
              graph.tensors.count <= ModelFormat.maxTensors else {
            throw fail("the graph has \(values.count) values, \(nodes.count) nodes and \(graph.tensors.count) tensors, outside format version 2's limits")
        }
        func name(_ text: String, _ bytes: Int) throws(ModelWriteError) -> [UInt8] {
            let utf8 = Array(text.utf8)
            guard utf8.count < bytes else { throw fail("name '\(text)' is longer than \(bytes - 1) bytes") }
            return utf8 + [UInt8](repeating: 0, count: bytes - utf8.count)
        }
        var valueTable: [UInt8] = []
        for v in values {
            guard v.shape.count <= 4, v.shape.allSatisfy({ $0 > 0 && $0 <= Int(UInt32.max) }) else {
                throw fail("value '\(v.name)' has shape \(v.shape): rank at most 4, positive dimensions")
            }
            valueTable += try name(v.name, GraphFormat.nameBytes)
            append(&valueTable, v.element.rawValue)
            append(&valueTable, v.role.rawValue)
            append(&valueTable, UInt32(v.shape.count))
            append(&valueTable, UInt32(v.role == .parameter ? 0 : 1))
            for d in 0..<4 { append(&valueTable, UInt32(d < v.shape.count ? v.shape[d] : 0)) }
            append(&valueTable, v.tensor.map(UInt32.init) ?? GraphFormat.noTensor)
            append(&valueTable, UInt32(v.producer ?? 0))
            append(&valueTable, UInt64(v.arenaOffset))
        }
        var nodeTable: [UInt8] = [], argumentTable: [UInt8] = []
        var argumentCount = 0
        for n in nodes {
            guard n.inputs.count <= GraphFormat.maxNodeInputs, n.outputs.count <= GraphFormat.maxNodeOutputs,
                  n.arguments.count <= GraphFormat.maxNodeArguments else {
                throw fail("node '\(n.name)' has too many inputs, outputs or arguments for format version 2")
            }
            nodeTable += try name(n.name, GraphFormat.nameBytes)
            append(&nodeTable, n.op.rawValue)
            append(&nodeTable, UInt32(n.inputs.count))
            append(&nodeTable, UInt32(n.outputs.count))
            append(&nodeTable, UInt32(argumentCount))
            append(&nodeTable, UInt32(n.arguments.count))
            for j in 0..<GraphFormat.maxNodeInputs { append(&nodeTable, UInt32(j < n.inputs.count ? n.inputs[j] : 0)) }
            for j in 0..<GraphFormat.maxNodeOutputs { append(&nodeTable, UInt32(j < n.outputs.count ? n.outputs[j] : 0)) }
            nodeTable += [UInt8](repeating: 0, count: GraphFormat.nodeRecordSize - 100)
            for (key, value) in n.arguments {
                argumentTable += try name(key, GraphFormat.argumentNameBytes)
                let words: [UInt32]
                switch value {
                case .ints(let v):
                    guard v.allSatisfy({ $0 >= Int(Int32.min) && $0 <= Int(Int32.max) }) else { throw fail("argument \(key) of '\(n.name)' does not fit 32 bits") }
                    words = v.map { UInt32(bitPattern: Int32($0)) }
                    append(&argumentTable, GraphFormat.ArgumentType.ints.rawValue)
                case .floats(let v):
                    words = v.map(\.bitPattern)
                    append(&argumentTable, GraphFormat.ArgumentType.floats.rawValue)
                }
                guard (1...GraphFormat.maxArgumentValues).contains(words.count) else {
                    throw fail("argument \(key) of '\(n.name)' holds \(words.count) numbers; 1 to 6 fit")
                }
                append(&argumentTable, UInt32(words.count))
                for j in 0..<GraphFormat.maxArgumentValues { append(&argumentTable, j < words.count ? words[j] : 0) }
                argumentCount += 1
            }
        }
        let valueOffset = ModelFormat.headerSize
        let nodeOffset = valueOffset + valueTable.count
        let argumentOffset = nodeOffset + nodeTable.count
        let tensorOffset = argumentOffset + argumentTable.count
        let (tensorTable, data, dataOffset) = try tensorSection(graph.tensors, tableOffset: tensorOffset)
        let fileLength = dataOffset + data.count + 4
        let (c, h, w) = description.inputShape
        var out: [UInt8] = ModelFormat.magic
        append(&out, GraphFormat.version)
        append(&out, UInt32(ModelFormat.headerSize))
        append(&out, UInt32(values.count))
        append(&out, UInt32(nodes.count))
        append(&out, UInt64(valueOffset))
        append(&out, UInt64(nodeOffset))
        append(&out, UInt64(dataOffset))
        append(&out, UInt64(fileLength))
        append(&out, UInt32(2)) // a graph
        append(&out, UInt32(0))
        append(&out, UInt32(c)); append(&out, UInt32(h)); append(&out, UInt32(w))
        append(&out, UInt32(values[graph.output].shape.reduce(1, *)))
        append(&out, description.outputKind.rawValue)
        append(&out, description.inputEncoding.rawValue)
        append(&out, UInt32(argumentCount))
        append(&out, UInt32(graph.tensors.count))
        append(&out, UInt64(argumentOffset))
        append(&out, UInt64(tensorOffset))
        append(&out, UInt64(graph.planBytes))
        append(&out, UInt32(graph.input))
        append(&out, UInt32(graph.output))
        precondition(out.count == ModelFormat.headerSize)
        return sealed(header: out, tables: valueTable + nodeTable + argumentTable + tensorTable, data: data, dataOffset: dataOffset,
                      fileLength: fileLength)
    }
}
