import Arena
import LowLevel

/// Fully connected layer: y = x·Wᵀ + b, with W stored `outputs × inputs` (row-major, the layout
/// PyTorch and most checkpoints use) and b of length `outputs`.
public final class Dense: Layer {
    public let inputCount: Int
    public let outputCount: Int
    public let weight: Parameter
    public let bias: Parameter
    public let parameters: [Parameter]
    /// Keeps the memory of W and b alive as long as the layer.
    private let arena: ArenaAllocator

    /// Allocates W, b and their gradients from `arena`; W is drawn by `initializer`, b is zero.
    public init(inputs: Int, outputs: Int, name: String, initializer: WeightInitializer,
                rng: inout RandomGenerator, arena: ArenaAllocator) throws(ArenaError) {
        precondition(inputs > 0 && outputs > 0)
        inputCount = inputs
        outputCount = outputs
        self.arena = arena
        weight = Parameter(name: "\(name).weight", shape: [outputs, inputs],
                           value: try arena.allocateFloats(outputs * inputs),
                           gradient: try arena.allocateFloats(outputs * inputs), decays: true)
        bias = Parameter(name: "\(name).bias", shape: [outputs],
                         value: try arena.allocateFloats(outputs),
                         gradient: try arena.allocateFloats(outputs), decays: false)
        parameters = [weight, bias]
        initializer.fill(weight.value, fanIn: inputs, fanOut: outputs, rng: &rng)
    }

    /// Arena bytes `init` takes.
    public static func arenaBytes(inputs: Int, outputs: Int) -> Int {
        2 * ArenaAllocator.footprint(of: Float.self, count: inputs * outputs)
            + 2 * ArenaAllocator.footprint(of: Float.self, count: outputs)
    }

    public var summary: String { "Dense(\(inputCount)→\(outputCount))" }

    public func forward(_ x: Matrix, into y: Matrix, training: Bool) {
        precondition(x.columns == inputCount && y.columns == outputCount && x.rows == y.rows)
        // y = b in every row, then y += x·Wᵀ.
        for r in 0..<y.rows { y.row(r).update(from: bias.value.baseAddress!, count: outputCount) }
        Kernels.gemm(.none, .transposed, m: x.rows, n: outputCount, k: inputCount,
                     alpha: 1, a: x.base, lda: inputCount, b: weight.value.baseAddress!, ldb: inputCount,
                     beta: 1, c: y.base, ldc: outputCount)
    }

    public func backward(input x: Matrix, output y: Matrix, outputGradient dy: Matrix, inputGradient dx: Matrix?) {
        // dW = dyᵀ·x  (outputs × inputs)
        Kernels.gemm(.transposed, .none, m: outputCount, n: inputCount, k: x.rows,
                     alpha: 1, a: dy.base, lda: outputCount, b: x.base, ldb: inputCount,
                     beta: 0, c: weight.gradient.baseAddress!, ldc: inputCount)
        // db = Σ_rows dy
        Kernels.fill(bias.gradient.baseAddress!, with: 0, count: outputCount)
        Kernels.accumulateColumnSums(dy.base, rows: dy.rows, columns: outputCount, into: bias.gradient.baseAddress!)
        // dx = dy·W  (batch × inputs)
        if let dx {
            Kernels.gemm(.none, .none, m: dy.rows, n: inputCount, k: outputCount,
                         alpha: 1, a: dy.base, lda: outputCount, b: weight.value.baseAddress!, ldb: inputCount,
                         beta: 0, c: dx.base, ldc: inputCount)
        }
    }

    /// Plain SGD fused into the weight-gradient product: W ← (1 − ηλ)W − η·dyᵀx is one GEMM with
    /// α = −η, β = 1 − ηλ, so the gradient is never stored. dx is computed first, from the old W.
    public func backwardApplyingSGD(input x: Matrix, output y: Matrix, outputGradient dy: Matrix,
                                    inputGradient dx: Matrix?, learningRate lr: Float, weightDecay: Float) {
        if let dx {
            Kernels.gemm(.none, .none, m: dy.rows, n: inputCount, k: outputCount,
                         alpha: 1, a: dy.base, lda: outputCount, b: weight.value.baseAddress!, ldb: inputCount,
                         beta: 0, c: dx.base, ldc: inputCount)
        }
        Kernels.gemm(.transposed, .none, m: outputCount, n: inputCount, k: x.rows,
                     alpha: -lr, a: dy.base, lda: outputCount, b: x.base, ldb: inputCount,
                     beta: 1 - lr * weightDecay, c: weight.value.baseAddress!, ldc: inputCount)
        for r in 0..<dy.rows { Kernels.axpy(-lr, dy.row(r), bias.value.baseAddress!, count: outputCount) }
    }
}
