import Glibc
import LowLevel

/// y = tanh x; dy/dx = 1 − y².
enum Tanh: ElementwiseUnary {
    @inline(__always) static func apply(_ x: Float) -> Float { tanhf(x) }
    static var vectorForward: ((UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)? {
        { Kernels.tanh($0, into: $1, count: $2) }
    }
    static var vectorBackward: ((UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)? {
        { Kernels.tanhBackward(output: $0, outputGradient: $1, into: $2, count: $3) }
    }
    @inline(__always) static func derivative(x: Float, y: Float) -> Float { 1 - y * y }
}

extension GraphBuilder {
    public func tanh(_ x: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.tanh, [x], name: name)
    }
}
