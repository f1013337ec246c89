/// y = max(x, 0); dy/dx = 1 where x > 0, else 0 (also at 0).
enum ReLU: ElementwiseUnary {
    @inline(__always) static func apply(_ x: Float) -> Float { x > 0 ? x : 0 }
    @inline(__always) static func derivative(x: Float, y: Float) -> Float { x > 0 ? 1 : 0 }
}

extension GraphBuilder {
    public func relu(_ x: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.relu, [x], name: name)
    }
}
