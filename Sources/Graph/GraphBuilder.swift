/// Builds a graph one node at a time. Each op's file adds a method (`g.add(a, b)`,
/// `g.matmul(x, w)`) that calls `apply`, where shapes are inferred and checked once.
///
///     let g = GraphBuilder()
///     let x = g.input("x", shape: [784])
///     let w = g.parameter("w", shape: [784, 10])
///     let logits = try g.matmul(x, w)
public final class GraphBuilder {
    public private(set) var values: [Value] = []
    public private(set) var nodes: [Node] = []
    public private(set) var outputs: [ValueID] = []
    private var scopes: [String] = []
    private var counters: [String: Int] = [:]
    /// When set, `parameter` and `state` return the value already made under the same name and
    /// type instead of a new one: two computations sharing weights by name (a flow's density
    /// and its inverse in one file).
    public var sharesParametersByName = false

    public init() {}

    /// A batched value the caller writes before each forward pass.
    public func input(_ name: String, shape: [Int], element: ElementType = .float32) -> ValueID {
        addValue(Value(name: name, type: TensorType(shape, element, batched: true), role: .input))
    }

    /// A trainable tensor (unbatched). Several nodes may read it.
    public func parameter(_ name: String, shape: [Int]) -> ValueID {
        let type = TensorType(shape, batched: false)
        if let id = shared(scoped(name), type, .parameter) { return id }
        return addValue(Value(name: scoped(name), type: type, role: .parameter))
    }

    private func shared(_ name: String, _ type: TensorType, _ role: ValueRole) -> ValueID? {
        guard sharesParametersByName, let i = values.firstIndex(where: { $0.name == name && $0.role == role && $0.type == type }) else { return nil }
        return ValueID(i)
    }

    /// A persistent, untrained tensor (unbatched).
    public func state(_ name: String, shape: [Int]) -> ValueID {
        addState(name, TensorType(shape, batched: false))
    }

    func addState(_ name: String, _ type: TensorType) -> ValueID {
        if let id = shared(scoped(name), type, .state) { return id }
        return addValue(Value(name: scoped(name), type: type, role: .state))
    }

    /// Marks `id` as an output: kept readable after a pass.
    public func output(_ id: ValueID) {
        if !outputs.contains(id) { outputs.append(id) }
    }

    public func type(of id: ValueID) -> TensorType { values[id.index].type }

    /// Runs `body` with `name` prefixed to the names it gives ("block3" + "attn" -> "block3.attn.qkv").
    public func scope<T, E: Error>(_ name: String, _ body: () throws(E) -> T) throws(E) -> T {
        scopes.append(name)
        defer { scopes.removeLast() }
        return try body()
    }

    /// Adds a node and returns its outputs.
    /// - Throws: `GraphError` naming the node and its input shapes when they do not fit the op.
    @discardableResult
    public func apply(_ op: OpKind, _ inputs: [ValueID], attributes: Attributes = Attributes(),
                      name: String? = nil) throws(GraphError) -> [ValueID] {
        let nodeName = scoped(name ?? nextName(op.rawValue))
        let node = Node(op: op, name: nodeName, inputs: inputs, outputs: [], attributes: attributes)
        for id in inputs where id.index < 0 || id.index >= values.count {
            throw GraphError("node '\(nodeName)' (\(op.rawValue)) reads value \(id), which this builder did not make")
        }
        let inputTypes = inputs.map { values[$0.index].type }
        let types: [TensorType]
        do { types = try op.definition.outputTypes(of: inputTypes, attributes: attributes) } catch {
            throw GraphError.shapes(node: node, inputs: inputTypes, reason: error.reason)
        }
        var outputs: [ValueID] = []
        for (i, type) in types.enumerated() {
            let valueName = types.count == 1 ? nodeName : "\(nodeName).\(i)"
            outputs.append(addValue(Value(name: valueName, type: type, role: .activation, producer: nodes.count)))
        }
        nodes.append(Node(op: op, name: nodeName, inputs: inputs, outputs: outputs, attributes: attributes))
        return outputs
    }

    /// The single output of a one-output op.
    func apply1(_ op: OpKind, _ inputs: [ValueID], attributes: Attributes = Attributes(),
                name: String?) throws(GraphError) -> ValueID {
        try apply(op, inputs, attributes: attributes, name: name)[0]
    }

    /// The finished graph, validated.
    public func build() throws(GraphError) -> Graph {
        try Graph(values: values, nodes: nodes, outputs: outputs)
    }

    private func addValue(_ value: Value) -> ValueID {
        var value = value
        // Keep names unique: a second "x" becomes "x#1".
        if values.contains(where: { $0.name == value.name }) { value.name = nextName(value.name + "#") }
        values.append(value)
        return ValueID(values.count - 1)
    }

    private func scoped(_ name: String) -> String { (scopes + [name]).joined(separator: ".") }

    private func nextName(_ base: String) -> String {
        let n = counters[base, default: 0]
        counters[base] = n + 1
        return "\(base)\(n)"
    }
}
