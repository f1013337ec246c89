/// y = a + b, broadcasting (see `ElementwiseBinary`). Residual connections and biases.
enum Add: ElementwiseBinary {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a + b }
    @inline(__always) static func partials(_ a: Float, _ b: Float) -> (Float, Float) { (1, 1) }
}

extension GraphBuilder {
    public func add(_ a: ValueID, _ b: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.add, [a, b], name: name)
    }
}
