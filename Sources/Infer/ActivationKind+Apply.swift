import LowLevel
import ModelFile

extension ActivationKind {
    /// y = f(x) for `count` values (`y` may be `x`), through the kernels the graph's ops use, so
    /// the runtime and training agree bit for bit.
    func apply(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count: Int) {
        switch self {
        case .relu: Kernels.relu(x, into: y, count: count)
        case .elu: Kernels.elu(x, into: y, count: count)
        case .sigmoid: Kernels.sigmoid(x, into: y, count: count)
        case .tanh: Kernels.tanh(x, into: y, count: count)
        }
    }
}
