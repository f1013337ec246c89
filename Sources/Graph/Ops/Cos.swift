import Glibc

/// y = cos x; dy/dx = −sin x.
enum Cos: ElementwiseUnary {
    @inline(__always) static func apply(_ x: Float) -> Float { cosf(x) }
    @inline(__always) static func derivative(x: Float, y: Float) -> Float { -sinf(x) }
}

extension GraphBuilder {
    public func cos(_ x: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.cos, [x], name: name)
    }
}
