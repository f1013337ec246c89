import Glibc

/// y = sin x; dy/dx = cos x.
enum Sin: ElementwiseUnary {
    @inline(__always) static func apply(_ x: Float) -> Float { sinf(x) }
    @inline(__always) static func derivative(x: Float, y: Float) -> Float { cosf(x) }
}

extension GraphBuilder {
    public func sin(_ x: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.sin, [x], name: name)
    }
}
