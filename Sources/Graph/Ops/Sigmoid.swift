import Glibc

/// y = 1 / (1 + e⁻ˣ); dy/dx = y(1 − y).
enum Sigmoid: ElementwiseUnary {
    @inline(__always) static func apply(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
    @inline(__always) static func derivative(x: Float, y: Float) -> Float { y * (1 - y) }
}

extension GraphBuilder {
    public func sigmoid(_ x: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.sigmoid, [x], name: name)
    }
}
