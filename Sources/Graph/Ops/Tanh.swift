import Glibc

/// y = tanh x; dy/dx = 1 − y².
enum Tanh: ElementwiseUnary {
    @inline(__always) static func apply(_ x: Float) -> Float { tanhf(x) }
    @inline(__always) static func derivative(x: Float, y: Float) -> Float { 1 - y * y }
}

extension GraphBuilder {
    public func tanh(_ x: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.tanh, [x], name: name)
    }
}
