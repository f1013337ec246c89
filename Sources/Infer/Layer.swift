import LowLevel

/// A layer of a feed-forward network working on a batch: one sample per row.
///
/// Forward and backward sit side by side in each conforming type. Backward receives what forward
/// saw and produced, and must follow the forward pass of the same batch (a layer may keep what it
/// derived from that batch, such as a sparse copy of its input). It writes (overwrites) the
/// gradients of the layer's parameters and, when asked, the gradient with respect to the input.
/// Neither may allocate heap memory: all buffers come from the network's arena.
public protocol Layer: AnyObject {
    /// Features per sample in.
    var inputCount: Int { get }
    /// Features per sample out.
    var outputCount: Int { get }
    /// Trainable tensors, in a fixed order (checkpoints rely on it).
    var parameters: [Parameter] { get }
    /// Non-trainable state saved in checkpoints (batch norm's running statistics).
    var buffers: [(name: String, values: UnsafeMutableBufferPointer<Float>)] { get }
    /// Short description for summaries, e.g. "Dense(784→128)".
    var summary: String { get }

    /// y = f(x). - Precondition: `x` is `batch × inputCount`, `y` is `batch × outputCount`.
    func forward(_ x: Matrix, into y: Matrix, training: Bool)

    /// Given x, y = f(x) and dL/dy, writes dL/dθ for every parameter and, unless `dx` is nil, dL/dx.
    func backward(input x: Matrix, output y: Matrix, outputGradient dy: Matrix, inputGradient dx: Matrix?)

    /// Backward for plain SGD: instead of writing gradients, applies θ ← (1 − ηλ)θ − η·dL/dθ to the
    /// parameters directly (λ only on parameters that decay), after computing dL/dx from the old
    /// values. Layers may fuse the update into their gradient computation.
    func backwardApplyingSGD(input x: Matrix, output y: Matrix, outputGradient dy: Matrix,
                             inputGradient dx: Matrix?, learningRate: Float, weightDecay: Float)
}

extension Layer {
    public var buffers: [(name: String, values: UnsafeMutableBufferPointer<Float>)] { [] }

    public func backwardApplyingSGD(input x: Matrix, output y: Matrix, outputGradient dy: Matrix,
                                    inputGradient dx: Matrix?, learningRate: Float, weightDecay: Float) {
        backward(input: x, output: y, outputGradient: dy, inputGradient: dx)
        for p in parameters {
            Kernels.sgdUpdate(p.value.baseAddress!, gradient: p.gradient.baseAddress!, learningRate: learningRate,
                              decay: p.decays ? weightDecay : 0, count: p.count)
        }
    }
}
