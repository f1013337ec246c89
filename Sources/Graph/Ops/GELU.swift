import Glibc

/// y = x·Φ(x) = ½x(1 + erf(x/√2)), the exact (erf) form; dy/dx = Φ(x) + x·φ(x).
enum GELU: ElementwiseUnary {
    @inline(__always) static func apply(_ x: Float) -> Float { 0.5 * x * (1 + erff(x * 0.707_106_77)) }
    @inline(__always) static func derivative(x: Float, y: Float) -> Float {
        0.5 * (1 + erff(x * 0.707_106_77)) + x * expf(-0.5 * x * x) * 0.398_942_28
    }
}

extension GraphBuilder {
    public func gelu(_ x: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.gelu, [x], name: name)
    }
}
