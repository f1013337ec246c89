import LowLevel
/// y = max(x, 0); dy/dx = 1 where x > 0, else 0 (also at 0).
enum ReLU: ElementwiseUnary {
    @inline(__always) static func apply(_ x: Float) -> Float { x > 0 ? x : 0 }
    static var vectorForward: ((UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)? {
        { Kernels.relu($0, into: $1, count: $2) }
    }
    static var vectorBackward: ((UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void)? {
        { Kernels.reluBackward(output: $0, outputGradient: $1, into: $2, count: $3) }
    }
    @inline(__always) static func derivative(x: Float, y: Float) -> Float { x > 0 ? 1 : 0 }
}

extension GraphBuilder {
    public func relu(_ x: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.relu, [x], name: name)
    }
}
