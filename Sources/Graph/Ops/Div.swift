/// y = a / b element-wise, broadcasting (see `ElementwiseBinary`). IEEE semantics at b = 0.
enum Div: ElementwiseBinary {
    @inline(__always) static func apply(_ a: Float, _ b: Float) -> Float { a / b }
    @inline(__always) static func partials(_ a: Float, _ b: Float) -> (Float, Float) { (1 / b, -a / (b * b)) }
}

extension GraphBuilder {
    public func div(_ a: ValueID, _ b: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.div, [a, b], name: name)
    }
}
