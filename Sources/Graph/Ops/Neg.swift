/// y = −x.
enum Neg: ElementwiseUnary {
    @inline(__always) static func apply(_ x: Float) -> Float { -x }
    @inline(__always) static func derivative(x: Float, y: Float) -> Float { -1 }
}

extension GraphBuilder {
    public func neg(_ x: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.neg, [x], name: name)
    }
}
