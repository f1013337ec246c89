import Glibc

/// y = eˣ; dy/dx = y.
enum Exp: ElementwiseUnary {
    @inline(__always) static func apply(_ x: Float) -> Float { expf(x) }
    @inline(__always) static func derivative(x: Float, y: Float) -> Float { y }
}

extension GraphBuilder {
    public func exp(_ x: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.exp, [x], name: name)
    }
}
