import Glibc
import LowLevel

/// y = x for x > 0, eˣ − 1 otherwise (α = 1); dy/dx = 1 for y > 0, else y + 1.
enum ELU: ElementwiseUnary {
    @inline(__always) static func apply(_ x: Float) -> Float { x > 0 ? x : expm1f(x) }
    static var vectorForward: ((UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)? {
        { Kernels.elu($0, into: $1, count: $2) }
    }
    static var vectorBackward: ((UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)? {
        { Kernels.eluBackward(output: $0, outputGradient: $1, into: $2, count: $3) }
    }
    @inline(__always) static func derivative(x: Float, y: Float) -> Float { y > 0 ? 1 : y + 1 }
}

extension GraphBuilder {
    public func elu(_ x: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.elu, [x], name: name)
    }
}
