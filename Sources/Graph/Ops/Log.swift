import Glibc

/// y = ln x (NaN below 0, −∞ at 0); dy/dx = 1/x.
enum Log: ElementwiseUnary {
    @inline(__always) static func apply(_ x: Float) -> Float { logf(x) }
    @inline(__always) static func derivative(x: Float, y: Float) -> Float { 1 / x }
}

extension GraphBuilder {
    public func log(_ x: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.log, [x], name: name)
    }
}
