/// A value's index in its graph's value table.
public struct ValueID: Hashable, Comparable, Codable, Sendable, CustomStringConvertible {
    public let index: Int
    public init(_ index: Int) { self.index = index }
    public static func < (a: ValueID, b: ValueID) -> Bool { a.index < b.index }
    public var description: String { "%\(index)" }
}

/// Where a value comes from and how long it lives.
public enum ValueRole: String, Codable, Sendable {
    /// Written by the caller before a forward pass.
    case input
    /// Trainable, persistent, unbatched; gets a gradient in training.
    case parameter
    /// Computed by a node.
    case activation
    /// Persistent and not trained (batch norm's running statistics).
    case state
}

/// One entry of the value table.
public struct Value: Codable, Sendable, Equatable {
    public var name: String
    public var type: TensorType
    public var role: ValueRole
    /// The node that computes it (`role == .activation`), by index.
    public var producer: Int?
}
