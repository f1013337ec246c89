import LowLevel

/// A fully connected layer, y = x·W + b: x [batch, inputs], W [inputs, outputs] (row i holds the
/// weights leaving input i, the transpose of PyTorch's `Linear.weight`), b [outputs].
///
/// One op rather than matmul + add, for the kernels it shares with the C runtime and the sparse
/// path. With argument `sparseInput` = 1 (the builder sets it when x is a graph input, such as
/// image pixels, which are mostly zero) each batch's density is checked, and a mostly-zero batch
/// computes y and dW from its non-zero inputs only (`SparseBatch`, saved for backward); results
/// equal the GEMM path's up to rounding. A batch of one takes `Kernels.denseOne`, the C runtime's
/// arithmetic, so a trained network and its exported file agree bit for bit.
enum Dense: Operator {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 3 else { throw ShapeError("takes x, weight and bias, got \(inputs.count) inputs") }
        let x = inputs[0], w = inputs[1], b = inputs[2]
        guard x.element == .float32, x.isBatched, x.shape.count == 1 else { throw ShapeError("x must be float32 [batch, inputs]") }
        guard !w.isBatched, w.shape.count == 2, w.shape[0] == x.shape[0] else {
            throw ShapeError("weight must be [\(x.shape[0]), outputs]")
        }
        guard !b.isBatched, b.shape == [w.shape[1]] else { throw ShapeError("bias must be [\(w.shape[1])]") }
        return [TensorType([w.shape[1]], batched: true)]
    }

    static func sparse(_ attributes: Attributes) -> Bool { attributes.int("sparseInput") != 0 }

    static func buffers(inputs: [TensorType], outputs: [TensorType], attributes: Attributes, maxBatch: Int) -> [BufferRequest] {
        let n = inputs[0].shape[0]
        // 0: the sparse batch (saved for dW); 1: one sample's non-zero inputs (indices, values);
        // 2: one row of dW for the fused SGD update on the sparse path.
        return [BufferRequest(.saved, bytes: sparse(attributes) ? SparseBatch.bytes(maxBatch: maxBatch, columns: n) : 0),
                .floats(.forward, sparse(attributes) ? 0 : 2 * n),
                .floats(.backward, sparse(attributes) ? inputs[1].shape[1] : 0)]
    }

    static var overwritesGradients: Bool { true }
    static var fusesSGD: Bool { true }

    static func forward(_ node: NodeRun) {
        let inputs = node.inputTypes[0].shape[0], outputs = node.outputTypes[0].shape[0], rows = node.rows
        let x = node.input(0), w = node.input(1), b = node.input(2), y = node.output(0)
        if let sparse = sparseBatch(node), sparse.load(x, rows: rows) {
            // y_r = b + Σ_{x_ri ≠ 0} x_ri · W[i, :]
            for r in 0..<rows {
                let row = y + r * outputs
                row.update(from: b, count: outputs)
                let start = Int(sparse.rowStart[r]), count = Int(sparse.rowStart[r + 1]) - start
                Kernels.sparseRowCombination(coefficients: sparse.rowValue + start, rows: sparse.rowColumn + start, count: count,
                                             matrix: w, ld: outputs, columns: outputs, into: row, accumulate: true)
            }
            return
        }
        if rows == 1 {
            let scratch = sparse(node.attributes) ? nil : node.floatBuffer(1)
            Kernels.denseOne(x, inputs: inputs, outputs: outputs, weight: w, bias: b, into: y,
                             indices: scratch.map { UnsafeMutableRawPointer($0).assumingMemoryBound(to: Int32.self) },
                             values: scratch.map { $0 + inputs })
            return
        }
        for r in 0..<rows { (y + r * outputs).update(from: b, count: outputs) }
        Kernels.gemm(.none, .none, m: rows, n: outputs, k: inputs, alpha: 1, a: x, lda: inputs, b: w, ldb: outputs,
                     beta: 1, c: y, ldc: outputs)
    }

    /// The sparse batch this node loaded, when it reads sparse input (the saved buffer's view).
    fileprivate static func sparseBatch(_ node: NodeRun) -> SparseBatch? {
        guard sparse(node.attributes) else { return nil }
        return SparseBatch(memory: node.buffer(0), maxBatch: node.maxBatch, columns: node.inputTypes[0].shape[0])
    }

    static func backward(_ node: NodeRun) {
        guard let dy = node.outputGradient(0) else { return }
        let inputs = node.inputTypes[0].shape[0], outputs = node.outputTypes[0].shape[0], rows = node.rows
        let x = node.input(0), w = node.input(1)
        if let dx = node.inputGradient(0) { // dx (+)= dy·Wᵀ
            Kernels.gemm(.none, .transposed, m: rows, n: inputs, k: outputs, alpha: 1, a: dy, lda: outputs, b: w, ldb: outputs,
                         beta: node.overwrites(0) ? 0 : 1, c: dx, ldc: inputs)
        }
        if let (rate, decay) = node.fusedSGD(2) { // b ← (1 − ηλ)b − η·Σ_rows dy
            let b = node.input(2)
            if decay != 0 { Kernels.scale(b, by: 1 - rate * decay, count: outputs) }
            for r in 0..<rows { Kernels.axpy(-rate, dy + r * outputs, b, count: outputs) }
        } else if let db = node.inputGradient(2) { // db (+)= Σ_rows dy
            if node.overwrites(2) { Kernels.fill(db, with: 0, count: outputs) }
            Kernels.accumulateColumnSums(dy, rows: rows, columns: outputs, into: db)
        }
        if let (rate, decay) = node.fusedSGD(1) {
            applySGD(node, rate: rate, decay: decay)
            return
        }
        guard let dw = node.inputGradient(1) else { return }
        let overwrite = node.overwrites(1)
        if let sparse = sparseBatch(node), sparse.rows > 0 { // dW (+)= xᵀ·dy over the non-zero inputs
            sparse.buildColumns()
            for i in 0..<inputs {
                let start = Int(sparse.columnStart[i]), count = Int(sparse.columnStart[i + 1]) - start
                let row = dw + i * outputs
                if count == 0 {
                    if overwrite { Kernels.fill(row, with: 0, count: outputs) }
                } else {
                    Kernels.sparseRowCombination(coefficients: sparse.columnValue + start, rows: sparse.columnRow + start,
                                                 count: count, matrix: dy, ld: outputs, columns: outputs, into: row,
                                                 accumulate: !overwrite)
                }
            }
        } else {
            Kernels.gemm(.transposed, .none, m: inputs, n: outputs, k: rows, alpha: 1, a: x, lda: inputs, b: dy, ldb: outputs,
                         beta: overwrite ? 0 : 1, c: dw, ldc: outputs)
        }
    }
}

extension Dense {
    /// W ← (1 − ηλ)W − η·xᵀdy as one GEMM with α = −η, β = 1 − ηλ (or, for sparse input, one pass
    /// over the rows the batch touches), so dW is never stored.
    static func applySGD(_ node: NodeRun, rate: Float, decay: Float) {
        let inputs = node.inputTypes[0].shape[0], outputs = node.outputTypes[0].shape[0], rows = node.rows
        let x = node.input(0), w = node.input(1), dy = node.outputGradient(0)!
        let keep = 1 - rate * decay
        if let sparse = sparseBatch(node), sparse.rows > 0 {
            sparse.buildColumns()
            let scratch = node.floatBuffer(2)
            for i in 0..<inputs {
                let start = Int(sparse.columnStart[i]), count = Int(sparse.columnStart[i + 1]) - start
                let row = w + i * outputs
                if keep != 1 { Kernels.scale(row, by: keep, count: outputs) }
                if count > 0 {
                    Kernels.sparseRowCombination(coefficients: sparse.columnValue + start, rows: sparse.columnRow + start,
                                                 count: count, matrix: dy, ld: outputs, columns: outputs, into: scratch,
                                                 accumulate: false)
                    Kernels.axpy(-rate, scratch, row, count: outputs)
                }
            }
        } else {
            Kernels.gemm(.transposed, .none, m: inputs, n: outputs, k: rows, alpha: -rate, a: x, lda: inputs, b: dy, ldb: outputs,
                         beta: keep, c: w, ldc: outputs)
        }
    }
}

extension GraphBuilder {
    /// y = x·W + b with new parameters `name.weight` [inputs, outputs] and `name.bias` [outputs].
    public func dense(_ x: ValueID, outputs: Int, name: String) throws(GraphError) -> ValueID {
        let inputs = type(of: x).shape.last ?? 1
        let w = parameter("\(name).weight", shape: [inputs, outputs]), b = parameter("\(name).bias", shape: [outputs])
        let readsData = values[x.index].role == .input
        return try apply1(.dense, [x, w, b], attributes: readsData ? Attributes(["sparseInput": .int(1)]) : Attributes(), name: name)
    }
}
