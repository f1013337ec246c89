import Glibc
import LowLevel

/// y = 1 / (1 + e⁻ˣ); dy/dx = y(1 − y).
enum Sigmoid: ElementwiseUnary {
    @inline(__always) static func apply(_ x: Float) -> Float { 1 / (1 + expf(-x)) }
    static var vectorForward: ((UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)? {
        { Kernels.sigmoid($0, into: $1, count: $2) }
    }
    static var vectorBackward: ((UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)? {
        { Kernels.sigmoidBackward(output: $0, outputGradient: $1, into: $2, count: $3) }
    }
    @inline(__always) static func derivative(x: Float, y: Float) -> Float { y * (1 - y) }
}

extension GraphBuilder {
    public func sigmoid(_ x: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.sigmoid, [x], name: name)
    }
}
