/// Why a graph could not be built, validated or planned. Messages name the node and the shapes.
public struct GraphError: Error, Equatable, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A shape rule's complaint about its inputs; the builder adds the node's name and the shapes.
public struct ShapeError: Error, Equatable, Sendable {
    public var reason: String
    public init(_ reason: String) { self.reason = reason }
}
