import Testing
import Arena
import Training
import ModelFile
import LowLevel

/// The sparse-input path of the first dense layer against the dense GEMM path.
@Suite struct SparseInputTests {
    init() { BLAS.configure(threads: 1) }

    /// A batch where about `density` of the entries are non-zero.
    func sparseBatch(rows: Int, columns: Int, density: Float, seed: UInt64) -> [Float] {
        var rng = RandomGenerator(seed: seed)
        return (0..<(rows * columns)).map { _ in rng.nextUniform() < density ? rng.nextUniform() : 0 }
    }

    @Test func nonZerosFindsEveryEntryAndRespectsCapacity() {
        for n in [0, 5, 16, 33, 100] {
            var x = [Float](repeating: 0, count: n)
            for i in stride(from: 1, to: n, by: 3) { x[i] = Float(i) }
            var indices = [Int32](repeating: -1, count: n), values = [Float](repeating: 0, count: n)
            let found = Kernels.nonZeros(x, count: n, indices: &indices, values: &values, capacity: n)
            let expected = Array(stride(from: 1, to: n, by: 3))
            #expect(found == expected.count)
            #expect(Array(indices.prefix(expected.count)) == expected.map { Int32($0) })
            #expect(Array(values.prefix(expected.count)) == expected.map { Float($0) })
            if !expected.isEmpty {
                #expect(Kernels.nonZeros(x, count: n, indices: &indices, values: &values, capacity: expected.count - 1) == nil)
            }
        }
    }

    /// The vector mask treats NaN as non-zero and −0 as zero, as `x != 0` does, in whole blocks
    /// and in the scalar tail.
    @Test func nonZerosAgreesWithScalarComparison() {
        var x = [Float](repeating: 0, count: 37)
        x[2] = .nan; x[5] = -0.0; x[15] = .infinity; x[16] = -1e-40; x[33] = .nan; x[35] = -0.0; x[36] = 3
        var indices = [Int32](repeating: -1, count: 37), values = [Float](repeating: 0, count: 37)
        let found = Kernels.nonZeros(x, count: 37, indices: &indices, values: &values, capacity: 37)
        #expect(found == 5)
        #expect(Array(indices.prefix(5)) == [2, 15, 16, 33, 36])
    }

    /// Many rows (the kernel then works through them in chunks) give exactly the sums of adding
    /// the rows in order with fused multiply-adds, column by column, for the columns in whole
    /// vectors; the last columns within rounding.
    @Test(arguments: [64, 128, 200]) func longSparseRowCombinationAddsRowsInOrder(columns: Int) {
        let rowCount = 300
        let matrix = testValues(rowCount * columns, seed: UInt64(columns) + 7)
        let rows = (0..<150).map { Int32(($0 * 7) % rowCount) }
        let coefficients = testValues(rows.count, seed: 11)
        for accumulate in [true, false] {
            let y0 = testValues(columns, seed: 12)
            var y = y0
            Kernels.sparseRowCombination(coefficients: coefficients, rows: rows, count: rows.count, matrix: matrix, ld: columns,
                                         columns: columns, into: &y, accumulate: accumulate)
            for c in 0..<columns {
                var expected: Float = accumulate ? y0[c] : 0
                for k in rows.indices { expected = expected.addingProduct(coefficients[k], matrix[Int(rows[k]) * columns + c]) }
                if c < columns / 16 * 16 {
                    #expect(y[c] == expected, "column \(c)")
                } else {
                    #expect(abs(y[c] - expected) < 1e-4, "column \(c)")
                }
            }
        }
    }

    @Test func sparseRowCombinationMatchesDenseProduct() {
        for columns in [3, 16, 64, 70, 128, 200] {
            let matrix = testValues(10 * columns, seed: UInt64(columns))
            let rows: [Int32] = [7, 0, 3, 3, 9], coefficients: [Float] = [0.5, -1, 2, 0.25, 3]
            var y = testValues(columns, seed: 99)
            let y0 = y
            Kernels.sparseRowCombination(coefficients: coefficients, rows: rows, count: 5, matrix: matrix, ld: columns,
                                         columns: columns, into: &y, accumulate: true)
            for c in 0..<columns {
                var expected = y0[c]
                for k in 0..<5 { expected += coefficients[k] * matrix[Int(rows[k]) * columns + c] }
                #expect(abs(y[c] - expected) < 1e-5)
            }
        }
    }

    /// Forward, gradients and the fused SGD update agree between a sparse batch (sparse path) and
    /// the same network fed the batch through its dense path.
    @Test(arguments: [1, 13, 64]) func sparseAndDensePathsAgree(batch: Int) throws {
        let spec = NetworkSpec.mlp(inputs: 100, hidden: [70], outputs: 10)
        let (sparseNet, _) = try makeNetwork(spec, maxBatch: 64, seed: 4)
        // The reference network puts a ReLU in front (the identity on these non-negative inputs),
        // so its first dense layer is not the input layer and always takes the GEMM path.
        let x = sparseBatch(rows: batch, columns: 100, density: 0.15, seed: 5)
        var input = x
        let labels = (0..<batch).map { Int32($0 % 10) }
        let weight = sparseNet.tensor(named: "dense0.weight")!, bias = sparseNet.tensor(named: "dense0.bias")!
        let w0 = Array(weight), b0 = Array(bias)
        try input.withUnsafeMutableBufferPointer { xb in
            try labels.withUnsafeBufferPointer { lb in
                let matrix = Matrix(xb, rows: batch, columns: 100)
                let (denseNet, _) = try makeNetwork(NetworkSpec(inputCount: 100, layers: [.activation(.relu)] + spec.layers),
                                                    maxBatch: 64, seed: 4)
                for (p, q) in zip(sparseNet.parameters, denseNet.parameters) { _ = q.value.update(fromContentsOf: Array(p.value)) }
                let lossSparse = sparseNet.loss(input: matrix, targets: .labels(lb.baseAddress!))
                let lossDense = denseNet.computeGradients(input: matrix, targets: .labels(lb.baseAddress!))
                #expect(abs(lossSparse - lossDense) < 1e-5)
                _ = sparseNet.computeGradients(input: matrix, targets: .labels(lb.baseAddress!))
                for (p, q) in zip(sparseNet.parameters, denseNet.parameters) {
                    for i in 0..<p.count { #expect(abs(p.gradient[i] - q.gradient[i]) < 1e-5, "\(p.name)[\(i)]") }
                }
                // Fused SGD on both paths.
                _ = sparseNet.sgdStep(input: matrix, targets: .labels(lb.baseAddress!), learningRate: 0.5, weightDecay: 0.01)
                _ = denseNet.sgdStep(input: matrix, targets: .labels(lb.baseAddress!), learningRate: 0.5, weightDecay: 0.01)
                for (p, q) in zip(sparseNet.parameters, denseNet.parameters) {
                    for i in 0..<p.count { #expect(abs(p.value[i] - q.value[i]) < 1e-5, "\(p.name)[\(i)] after SGD") }
                }
                #expect(Array(weight) != w0 && Array(bias) != b0)
            }
        }
    }

    /// 90% non-zero is above the sparse threshold: the layer falls back to the GEMM and is still right.
    @Test func denseBatchFallsBackToGEMM() throws {
        let spec = NetworkSpec(inputCount: 20, layers: [.dense(outputs: 3)], loss: .meanSquaredError)
        let (network, _) = try makeNetwork(spec, maxBatch: 4, seed: 2)
        var x = sparseBatch(rows: 4, columns: 20, density: 0.9, seed: 3)
        let weight = network.tensor(named: "dense0.weight")!, bias = network.tensor(named: "dense0.bias")!
        try x.withUnsafeMutableBufferPointer { xb in
            let y = network.forward(Matrix(xb, rows: 4, columns: 20))
            for r in 0..<4 {
                for o in 0..<3 {
                    var expected = bias[o]
                    for i in 0..<20 { expected += xb[r * 20 + i] * weight[i * 3 + o] }
                    #expect(abs(y[r, o] - expected) < 1e-5)
                }
            }
            _ = try #require(y.rows == 4 ? y : nil)
        }
    }
}
