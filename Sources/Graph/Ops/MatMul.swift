import LowLevel

/// C = A·B, or A·Bᵀ with argument `transposeB` = 1.
///
/// Two forms:
/// - B unbatched [k, n] (a weight): every leading dimension of A, the batch included, is a row,
///   so A [batch, ..., k] gives C [batch, ..., n] in one GEMM (a dense layer without its bias).
/// - B batched [k, n] per sample: A is [m, k] per sample (or unbatched [m, k]), and each sample
///   gets its own product, C [batch, m, n] (attention's QKᵀ and its product with V).
/// Backward: dA += dC·op(B)ᵀ, dB += op(Aᵀ·dC), through the same GEMM.
enum MatMul: Operator {
    static func transposesB(_ attributes: Attributes) -> Bool { attributes.int("transposeB") != 0 }

    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 2 else { throw ShapeError("takes 2 inputs, got \(inputs.count)") }
        let a = inputs[0], b = inputs[1]
        guard a.element == .float32, b.element == .float32 else { throw ShapeError("operands must be float32") }
        guard b.shape.count == 2 else { throw ShapeError("B must be a matrix") }
        let (k, n) = transposesB(attributes) ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        guard let last = a.shape.last, last == k else {
            throw ShapeError("A's last dimension must equal B's \(transposesB(attributes) ? "second" : "first") (\(k))")
        }
        if !b.isBatched { return [TensorType(a.shape.dropLast() + [n], batched: a.isBatched)] }
        guard a.shape.count == 2 else { throw ShapeError("with a batched B, A must be [m, k] per sample") }
        return [TensorType([a.shape[0], n], batched: true)]
    }

    /// (m, k, n) of one product, and how many products (samples; 1 when B is a weight).
    static func dimensions(_ node: NodeRun) -> (m: Int, k: Int, n: Int, products: Int) {
        let b = node.inputTypes[1], transposed = transposesB(node.attributes)
        let (k, n) = transposed ? (b.shape[1], b.shape[0]) : (b.shape[0], b.shape[1])
        if !b.isBatched { return (node.inputCount(0) / k, k, n, 1) }
        return (node.inputTypes[0].shape[0], k, n, node.rows)
    }

    static func forward(_ node: NodeRun) {
        let (m, k, n, products) = dimensions(node)
        let transposed = transposesB(node.attributes)
        let a = node.input(0), b = node.input(1), c = node.output(0)
        let strideA = node.inputTypes[0].isBatched && products > 1 ? m * k : 0
        for s in 0..<products {
            Kernels.gemm(.none, transposed ? .transposed : .none, m: m, n: n, k: k,
                         alpha: 1, a: a + s * strideA, lda: k, b: b + s * k * n, ldb: transposed ? k : n,
                         beta: 0, c: c + s * m * n, ldc: n)
        }
    }

    static var overwritesGradients: Bool { true }

    static func backward(_ node: NodeRun) {
        guard let dc = node.outputGradient(0) else { return }
        let (m, k, n, products) = dimensions(node)
        let transposed = transposesB(node.attributes)
        let a = node.input(0), b = node.input(1)
        let strideA = node.inputTypes[0].isBatched && products > 1 ? m * k : 0
        // β = 0 where this node writes a gradient first; a weight A shared by every sample's
        // product sums over samples after the first.
        let freshA: Float = node.overwrites(0) ? 0 : 1, freshB: Float = node.overwrites(1) ? 0 : 1
        for s in 0..<products {
            let pa = a + s * strideA, pb = b + s * k * n, pdc = dc + s * m * n
            let betaA: Float = strideA == 0 && s > 0 ? 1 : freshA
            if let da = node.inputGradient(0) {
                // dA (m×k) += dC (m×n) · op(B)ᵀ
                Kernels.gemm(.none, transposed ? .none : .transposed, m: m, n: k, k: n,
                             alpha: 1, a: pdc, lda: n, b: pb, ldb: transposed ? k : n, beta: betaA, c: da + s * strideA, ldc: k)
            }
            if let db = node.inputGradient(1) {
                if transposed { // dB (n×k) += dCᵀ · A
                    Kernels.gemm(.transposed, .none, m: n, n: k, k: m, alpha: 1, a: pdc, lda: n, b: pa, ldb: k,
                                 beta: freshB, c: db + s * k * n, ldc: k)
                } else { // dB (k×n) += Aᵀ · dC
                    Kernels.gemm(.transposed, .none, m: k, n: n, k: m, alpha: 1, a: pa, lda: k, b: pdc, ldb: n,
                                 beta: freshB, c: db + s * k * n, ldc: n)
                }
            }
        }
    }
}

extension GraphBuilder {
    public func matmul(_ a: ValueID, _ b: ValueID, transposeB: Bool = false, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.matmul, [a, b], attributes: transposeB ? Attributes(["transposeB": .int(1)]) : Attributes(), name: name)
    }
}
