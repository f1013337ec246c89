/// A static computation: a value table and nodes in topological order. Nothing runs here; an
/// executor binds a graph to planned memory and runs it.
///
/// Every `Graph` is valid: the initialiser checks each node against the value table and re-derives
/// every output's type from the op's shape rule, so a graph decoded from a file gets the same
/// checks as one from `GraphBuilder`.
public struct Graph: Codable, Sendable, Equatable {
    public let values: [Value]
    public let nodes: [Node]
    /// Values the graph's user reads after a forward pass (logits, a loss).
    public let outputs: [ValueID]

    /// - Throws: `GraphError` naming the node and the problem: an unknown or later value, an output
    ///   produced twice, a type that does not follow from the inputs, a name used twice.
    public init(values: [Value], nodes: [Node], outputs: [ValueID]) throws(GraphError) {
        var names = Set<String>()
        for (index, value) in values.enumerated() {
            guard names.insert(value.name).inserted else { throw GraphError("value name '\(value.name)' is used twice") }
            if value.role == .activation {
                guard let p = value.producer, p >= 0, p < nodes.count, nodes[p].outputs.contains(ValueID(index)) else {
                    throw GraphError("value %\(index) '\(value.name)' is an activation without a node that computes it")
                }
            } else {
                guard value.producer == nil else { throw GraphError("value %\(index) '\(value.name)' is a \(value.role.rawValue) but has a producer") }
                if value.role != .input, value.type.isBatched {
                    throw GraphError("\(value.role.rawValue) '\(value.name)' is batched; only inputs and activations are")
                }
            }
            guard value.type.shape.allSatisfy({ $0 > 0 }) else {
                throw GraphError("value '\(value.name)' has shape \(value.type.shape): every dimension must be positive")
            }
        }
        for (k, node) in nodes.enumerated() {
            var inputTypes: [TensorType] = []
            for id in node.inputs {
                guard id.index >= 0, id.index < values.count else {
                    throw GraphError("node '\(node.name)' (\(node.op.rawValue)) reads value \(id), outside the \(values.count) values")
                }
                if let p = values[id.index].producer, p >= k {
                    throw GraphError("node '\(node.name)' (\(node.op.rawValue)) reads '\(values[id.index].name)', computed by a later node")
                }
                inputTypes.append(values[id.index].type)
            }
            let expected: [TensorType]
            do { expected = try node.op.definition.outputTypes(of: inputTypes, attributes: node.attributes) } catch {
                throw GraphError.shapes(node: node, inputs: inputTypes, reason: error.reason)
            }
            guard expected.count == node.outputs.count else {
                throw GraphError("node '\(node.name)' (\(node.op.rawValue)) has \(node.outputs.count) outputs, its op makes \(expected.count)")
            }
            for (id, type) in zip(node.outputs, expected) {
                guard id.index >= 0, id.index < values.count, values[id.index].producer == k else {
                    throw GraphError("node '\(node.name)' (\(node.op.rawValue)) writes value \(id), which is not its output")
                }
                guard values[id.index].type == type else {
                    throw GraphError("node '\(node.name)' (\(node.op.rawValue)): output '\(values[id.index].name)' is \(values[id.index].type), its inputs give \(type)")
                }
            }
        }
        for id in outputs where id.index < 0 || id.index >= values.count {
            throw GraphError("graph output \(id) is outside the \(values.count) values")
        }
        self.values = values
        self.nodes = nodes
        self.outputs = outputs
    }

    public init(from decoder: any Decoder) throws {
        enum Keys: String, CodingKey { case values, nodes, outputs }
        let c = try decoder.container(keyedBy: Keys.self)
        try self.init(values: c.decode([Value].self, forKey: .values), nodes: c.decode([Node].self, forKey: .nodes),
                      outputs: c.decode([ValueID].self, forKey: .outputs))
    }

    public func type(of id: ValueID) -> TensorType { values[id.index].type }

    /// Values with the given role, in table order.
    public func values(_ role: ValueRole) -> [ValueID] {
        values.indices.filter { values[$0].role == role }.map(ValueID.init)
    }

    public var inputs: [ValueID] { values(.input) }
    public var parameters: [ValueID] { values(.parameter) }

    /// The value called `name`.
    public func value(named name: String) -> ValueID? {
        values.firstIndex { $0.name == name }.map(ValueID.init)
    }

    /// For each value, the indices of the nodes that read it, in order.
    public var consumers: [[Int]] {
        var result = Array(repeating: [Int](), count: values.count)
        for (k, node) in nodes.enumerated() { for id in node.inputs where result[id.index].last != k { result[id.index].append(k) } }
        return result
    }

    /// One line per node: "name = op(inputs) -> [shape]".
    public var summary: String {
        nodes.map { node in
            let ins = node.inputs.map { values[$0.index].name }.joined(separator: ", ")
            let outs = node.outputs.map { values[$0.index].type.description }.joined(separator: ", ")
            let args = node.attributes.arguments.isEmpty ? "" : " {\(node.attributes)}"
            return "\(node.name) = \(node.op.rawValue)(\(ins))\(args) -> \(outs)"
        }.joined(separator: "\n")
    }
}

extension GraphError {
    static func shapes(node: Node, inputs: [TensorType], reason: String) -> GraphError {
        let shapes = inputs.map(\.description).joined(separator: ", ")
        return GraphError("node '\(node.name)' (\(node.op.rawValue)) cannot take inputs (\(shapes)): \(reason)")
    }
}
