import Glibc
import LowLevel

/// y = x·Φ(x) = ½x(1 + erf(x/√2)), the exact (erf) form; dy/dx = Φ(x) + x·φ(x). Both passes run
/// through the SIMD kernels (`Kernels.gelu`, `geluBackward`); `apply` and `derivative` are the
/// scalar definitions.
enum GELU: ElementwiseUnary {
    @inline(__always) static func apply(_ x: Float) -> Float { 0.5 * x * (1 + erff(x * 0.707_106_77)) }
    @inline(__always) static func derivative(x: Float, y: Float) -> Float {
        0.5 * (1 + erff(x * 0.707_106_77)) + x * expf(-0.5 * x * x) * 0.398_942_28
    }
    static var vectorForward: ((UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)? {
        { Kernels.gelu($0, into: $1, count: $2) }
    }

    static func backward(_ node: NodeRun) {
        guard let dx = node.inputGradient(0) else { return }
        let n = node.outputCount(0)
        guard let dy = node.outputGradientOrClearing(input: 0, count: n) else { return }
        Kernels.geluBackward(input: node.input(0), outputGradient: dy, into: dx, count: n, accumulate: !node.overwrites(0))
    }
}

extension GraphBuilder {
    public func gelu(_ x: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.gelu, [x], name: name)
    }
}
