/// y = x²; dy/dx = 2x.
enum Square: ElementwiseUnary {
    @inline(__always) static func apply(_ x: Float) -> Float { x * x }
    @inline(__always) static func derivative(x: Float, y: Float) -> Float { 2 * x }
}

extension GraphBuilder {
    public func square(_ x: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.square, [x], name: name)
    }
}
