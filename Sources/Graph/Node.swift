/// One operation of a graph: an op, the values it reads and writes, its arguments, and a name
/// such as `block3.attn.qkv` that errors and summaries use.
public struct Node: Codable, Sendable, Equatable {
    public var op: OpKind
    public var name: String
    public var inputs: [ValueID]
    public var outputs: [ValueID]
    public var attributes: Attributes

    public init(op: OpKind, name: String, inputs: [ValueID], outputs: [ValueID], attributes: Attributes = Attributes()) {
        self.op = op
        self.name = name
        self.inputs = inputs
        self.outputs = outputs
        self.attributes = attributes
    }
}
