/// y = a·b element-wise, broadcasting (see `ElementwiseBinary`).
enum Mul: ElementwiseBinary {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a * b }
    @inline(__always) static func partials(_ a: Float, _ b: Float) -> (Float, Float) { (b, a) }
}

extension GraphBuilder {
    public func mul(_ a: ValueID, _ b: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.mul, [a, b], name: name)
    }
}
