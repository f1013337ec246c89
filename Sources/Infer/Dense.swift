import Arena
import LowLevel

/// Fully connected layer: y = x·W + b, with W stored `inputs × outputs` row-major (row i holds the
/// weights leaving input i; this is the transpose of PyTorch's `Linear.weight`) and b of length
/// `outputs`.
///
/// A layer that reads the network's input may be built with `sparseInput`: it then checks each
/// batch's density and, when the batch is mostly zeros, computes y and dW from the non-zero inputs
/// only (see `SparseBatch`). Results equal the dense path's up to rounding.
public final class Dense: Layer {
    public let inputCount: Int
    public let outputCount: Int
    public let weight: Parameter
    public let bias: Parameter
    public let parameters: [Parameter]
    /// Keeps the memory of W and b alive as long as the layer.
    private let arena: ArenaAllocator
    private let sparse: SparseBatch?
    /// One row of scratch for the sparse weight update.
    private let rowScratch: UnsafeMutableBufferPointer<Float>?
    /// Layers that do not read the network's input: scratch for a single sample's non-zero
    /// inputs, so one sample takes the same sparse-or-dense kernel as the C runtime
    /// (`forwardOne`); activations after ReLU and pooling are often mostly zeros.
    private let singleSample: (indices: UnsafeMutableBufferPointer<Int32>, values: UnsafeMutableBufferPointer<Float>)?
    /// Whether the last forward pass took the sparse path (backward must match it).
    private var forwardWasSparse = false

    /// Allocates W, b and their gradients (and, with `sparseInput`, room for a sparse copy of a
    /// batch of `maxBatch` rows) from `arena`; W is drawn by `initializer`, b is zero.
    public init(inputs: Int, outputs: Int, name: String, initializer: WeightInitializer,
                rng: inout RandomGenerator, arena: ArenaAllocator,
                sparseInput maxBatch: Int? = nil) throws(ArenaError) {
        precondition(inputs > 0 && outputs > 0)
        inputCount = inputs
        outputCount = outputs
        self.arena = arena
        weight = Parameter(name: "\(name).weight", shape: [inputs, outputs],
                           value: try arena.allocateFloats(outputs * inputs),
                           gradient: try arena.allocateFloats(outputs * inputs), decays: true)
        bias = Parameter(name: "\(name).bias", shape: [outputs],
                         value: try arena.allocateFloats(outputs),
                         gradient: try arena.allocateFloats(outputs), decays: false)
        parameters = [weight, bias]
        if let maxBatch {
            let memory = try arena.allocate(UInt8.self, count: SparseBatch.bytes(maxBatch: maxBatch, columns: inputs))
            sparse = SparseBatch(memory: UnsafeMutableRawPointer(memory.baseAddress!), maxBatch: maxBatch, columns: inputs)
            rowScratch = try arena.allocateFloats(outputs)
        } else {
            sparse = nil
            rowScratch = nil
        }
        singleSample = maxBatch == nil ? (try arena.allocate(Int32.self, count: inputs), try arena.allocateFloats(inputs)) : nil
        initializer.fill(weight.value, fanIn: inputs, fanOut: outputs, rng: &rng)
    }

    /// Arena bytes `init` takes.
    public static func arenaBytes(inputs: Int, outputs: Int, sparseInput maxBatch: Int?) -> Int {
        var total = 2 * ArenaAllocator.footprint(of: Float.self, count: inputs * outputs)
            + 2 * ArenaAllocator.footprint(of: Float.self, count: outputs)
        if let maxBatch {
            total += ArenaAllocator.footprint(of: UInt8.self, count: SparseBatch.bytes(maxBatch: maxBatch, columns: inputs))
                + ArenaAllocator.footprint(of: Float.self, count: outputs)
        } else {
            total += ArenaAllocator.footprint(of: Int32.self, count: inputs) + ArenaAllocator.footprint(of: Float.self, count: inputs)
        }
        return total
    }

    public var summary: String { "Dense(\(inputCount)→\(outputCount))" }

    private var w: UnsafeMutablePointer<Float> { weight.value.baseAddress! }

    public func forward(_ x: Matrix, into y: Matrix, training: Bool) {
        precondition(x.columns == inputCount && y.columns == outputCount && x.rows == y.rows)
        for r in 0..<y.rows { y.row(r).update(from: bias.value.baseAddress!, count: outputCount) }
        if let sparse, sparse.load(x.base, rows: x.rows) {
            forwardWasSparse = true
            // y_r = b + Σ_{x_ri ≠ 0} x_ri · W[i, :]
            for r in 0..<x.rows {
                let start = Int(sparse.rowStart[r]), count = Int(sparse.rowStart[r + 1]) - start
                Kernels.sparseRowCombination(coefficients: sparse.rowValue + start,
                                             rows: sparse.rowColumn + start, count: count,
                                             matrix: w, ld: outputCount, columns: outputCount,
                                             into: y.row(r), accumulate: true)
            }
            return
        }
        forwardWasSparse = false
        if x.rows == 1 {
            // One sample: the C runtime's arithmetic (sparse rows or a SIMD vector-matrix product).
            Kernels.denseOne(x.base, inputs: inputCount, outputs: outputCount, weight: w, bias: bias.value.baseAddress!,
                            into: y.base, indices: singleSample?.indices.baseAddress, values: singleSample?.values.baseAddress)
            return
        }
        // y already holds b in every row: y += x·W.
        Kernels.gemm(.none, .none, m: x.rows, n: outputCount, k: inputCount,
                     alpha: 1, a: x.base, lda: inputCount, b: w, ldb: outputCount,
                     beta: 1, c: y.base, ldc: outputCount)
    }

    public func backward(input x: Matrix, output y: Matrix, outputGradient dy: Matrix, inputGradient dx: Matrix?) {
        inputGradient(dy, into: dx)
        // db = Σ_rows dy
        Kernels.fill(bias.gradient.baseAddress!, with: 0, count: outputCount)
        Kernels.accumulateColumnSums(dy.base, rows: dy.rows, columns: outputCount, into: bias.gradient.baseAddress!)
        // dW = xᵀ·dy  (inputs × outputs)
        let dw = weight.gradient.baseAddress!
        if forwardWasSparse, let sparse {
            sparse.buildColumns()
            for i in 0..<inputCount {
                let start = Int(sparse.columnStart[i]), count = Int(sparse.columnStart[i + 1]) - start
                let row = dw + i * outputCount
                if count == 0 {
                    Kernels.fill(row, with: 0, count: outputCount)
                } else {
                    Kernels.sparseRowCombination(coefficients: sparse.columnValue + start,
                                                 rows: sparse.columnRow + start, count: count,
                                                 matrix: dy.base, ld: outputCount, columns: outputCount,
                                                 into: row, accumulate: false)
                }
            }
        } else {
            Kernels.gemm(.transposed, .none, m: inputCount, n: outputCount, k: x.rows,
                         alpha: 1, a: x.base, lda: inputCount, b: dy.base, ldb: outputCount,
                         beta: 0, c: dw, ldc: outputCount)
        }
    }

    /// Plain SGD fused into the weight-gradient product: W ← (1 − ηλ)W − η·xᵀdy is one GEMM with
    /// α = −η, β = 1 − ηλ (or, for sparse input, one pass over the touched rows), so the gradient
    /// is never stored. dx is computed first, from the old W.
    public func backwardApplyingSGD(input x: Matrix, output y: Matrix, outputGradient dy: Matrix,
                                    inputGradient dx: Matrix?, learningRate lr: Float, weightDecay: Float) {
        inputGradient(dy, into: dx)
        let keep = 1 - lr * weightDecay
        if forwardWasSparse, let sparse, let scratch = rowScratch?.baseAddress {
            sparse.buildColumns()
            for i in 0..<inputCount {
                let start = Int(sparse.columnStart[i]), count = Int(sparse.columnStart[i + 1]) - start
                let row = w + i * outputCount
                if keep != 1 { Kernels.scale(row, by: keep, count: outputCount) }
                if count > 0 {
                    Kernels.sparseRowCombination(coefficients: sparse.columnValue + start,
                                                 rows: sparse.columnRow + start, count: count,
                                                 matrix: dy.base, ld: outputCount, columns: outputCount,
                                                 into: scratch, accumulate: false)
                    Kernels.axpy(-lr, scratch, row, count: outputCount)
                }
            }
        } else {
            Kernels.gemm(.transposed, .none, m: inputCount, n: outputCount, k: x.rows,
                         alpha: -lr, a: x.base, lda: inputCount, b: dy.base, ldb: outputCount,
                         beta: keep, c: w, ldc: outputCount)
        }
        for r in 0..<dy.rows { Kernels.axpy(-lr, dy.row(r), bias.value.baseAddress!, count: outputCount) }
    }

    /// dx = dy·Wᵀ  (batch × inputs), when asked for.
    private func inputGradient(_ dy: Matrix, into dx: Matrix?) {
        guard let dx else { return }
        Kernels.gemm(.none, .transposed, m: dy.rows, n: inputCount, k: outputCount,
                     alpha: 1, a: dy.base, lda: outputCount, b: w, ldb: outputCount,
                     beta: 0, c: dx.base, ldc: inputCount)
    }
}
