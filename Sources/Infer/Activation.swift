import LowLevel

/// The element-wise non-linearities.
public enum ActivationKind: String, Codable, Sendable, CaseIterable {
    case relu, elu, sigmoid, tanh
}

/// An element-wise activation layer. Its backward needs only its own output.
public final class Activation: Layer {
    public let kind: ActivationKind
    public let inputCount: Int
    public var outputCount: Int { inputCount }
    public let parameters: [Parameter] = []

    public init(_ kind: ActivationKind, count: Int) {
        self.kind = kind
        self.inputCount = count
    }

    public var summary: String { "\(kind.rawValue)(\(inputCount))" }

    public func forward(_ x: Matrix, into y: Matrix, training: Bool) {
        precondition(x.count == y.count)
        Self.apply(kind, x.base, into: y.base, count: x.count)
    }

    /// y = f(x) for `count` values (`y` may be `x`).
    static func apply(_ kind: ActivationKind, _ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        switch kind {
        case .relu: Kernels.relu(x, into: y, count: count)
        case .elu: Kernels.elu(x, into: y, count: count)
        case .sigmoid: Kernels.sigmoid(x, into: y, count: count)
        case .tanh: Kernels.tanh(x, into: y, count: count)
        }
    }

    public func backward(input x: Matrix, output y: Matrix, outputGradient dy: Matrix, inputGradient dx: Matrix?) {
        guard let dx else { return }
        switch kind {
        case .relu: Kernels.reluBackward(output: y.base, outputGradient: dy.base, into: dx.base, count: y.count)
        case .elu: Kernels.eluBackward(output: y.base, outputGradient: dy.base, into: dx.base, count: y.count)
        case .sigmoid: Kernels.sigmoidBackward(output: y.base, outputGradient: dy.base, into: dx.base, count: y.count)
        case .tanh: Kernels.tanhBackward(output: y.base, outputGradient: dy.base, into: dx.base, count: y.count)
        }
    }
}
