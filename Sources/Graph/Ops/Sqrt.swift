/// y = √x; dy/dx = 1/(2y).
enum Sqrt: ElementwiseUnary {
    @inline(__always) static func apply(_ x: Float) -> Float { x.squareRoot() }
    @inline(__always) static func derivative(x: Float, y: Float) -> Float { 0.5 / y }
}

extension GraphBuilder {
    public func sqrt(_ x: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.sqrt, [x], name: name)
    }
}
