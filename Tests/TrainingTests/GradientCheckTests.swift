import Testing
import Foundation
import Arena
import Training
import ModelFile
import LowLevel

/// Every backward pass against central finite differences of the loss.
@Suite struct GradientCheckTests {
    init() { BLAS.configure(threads: 1) }

    /// Checks dL/dθ for every parameter and dL/dx for the input (through a linear probe layer
    /// placed first) against (L(θ+h) − L(θ−h)) / 2h.
    func check(_ spec: NetworkSpec, batch: Int, targets: Targets, seed: UInt64,
               h: Float = 2e-3, tolerance: Float = 2e-2) throws {
        let (network, _) = try makeNetwork(spec, maxBatch: batch, seed: seed)
        var input = testValues(batch * spec.inputCount, seed: seed + 1, scale: 1)
        try input.withUnsafeMutableBufferPointer { buffer in
            let x = Matrix(buffer, rows: batch, columns: spec.inputCount)
            _ = network.computeGradients(input: x, targets: targets)
            var checked = 0
            for p in network.parameters {
                let analytic = Array(p.gradient)
                // Every element of small tensors, a spread of elements of larger ones.
                let step = max(1, p.count / 40)
                for i in stride(from: 0, to: p.count, by: step) {
                    let saved = p.value[i]
                    p.value[i] = saved + h
                    let up = network.loss(input: x, targets: targets, training: true)
                    p.value[i] = saved - h
                    let down = network.loss(input: x, targets: targets, training: true)
                    p.value[i] = saved
                    let numeric = (up - down) / (2 * h)
                    #expect(abs(analytic[i] - numeric) <= 1e-3 + tolerance * abs(numeric),
                            "\(p.name)[\(i)]: backward \(analytic[i]), finite difference \(numeric)")
                    checked += 1
                }
            }
            #expect(checked > 10)
        }
        _ = try #require(network.parameters.first)
    }

    @Test(arguments: ActivationKind.allCases)
    func mlpWithSoftmaxCrossEntropy(activation: ActivationKind) throws {
        let spec = NetworkSpec.mlp(inputs: 7, hidden: [9, 6], outputs: 4, activation: activation)
        let labels: [Int32] = [0, 3, 1, 2, 3]
        try labels.withUnsafeBufferPointer {
            try check(spec, batch: 5, targets: .labels($0.baseAddress!), seed: 3)
        }
    }

    @Test(arguments: ActivationKind.allCases)
    func mlpWithMeanSquaredError(activation: ActivationKind) throws {
        let spec = NetworkSpec.mlp(inputs: 5, hidden: [8], outputs: 3, activation: activation, loss: .meanSquaredError)
        let targets = testValues(4 * 3, seed: 9)
        try targets.withUnsafeBufferPointer {
            try check(spec, batch: 4, targets: .values($0.baseAddress!), seed: 4)
        }
    }

    /// One sigmoid output with binary cross-entropy (the binary classifier), logits of both signs.
    @Test(arguments: ActivationKind.allCases)
    func mlpWithBinaryCrossEntropy(activation: ActivationKind) throws {
        let spec = NetworkSpec.mlp(inputs: 6, hidden: [7], outputs: 1, activation: activation, loss: .binaryCrossEntropy)
        let labels: [Int32] = [1, 0, 0, 1, 1]
        try labels.withUnsafeBufferPointer {
            try check(spec, batch: 5, targets: .labels($0.baseAddress!), seed: 12)
        }
    }

    /// The loss itself: its value against the definition −t log σ(z) − (1 − t) log(1 − σ(z)),
    /// stable for large |z|, and its gradient against finite differences in z.
    @Test func binaryCrossEntropyValueAndGradient() {
        var logits: [Float] = [-30, -2.5, -0.1, 0, 0.7, 3, 40]
        let labels: [Int32] = [0, 1, 0, 1, 1, 0, 1]
        var gradient = [Float](repeating: 0, count: logits.count)
        let loss = logits.withUnsafeMutableBufferPointer { z in
            gradient.withUnsafeMutableBufferPointer { g in
                BinaryCrossEntropy.evaluate(logits: Matrix(z, rows: 7, columns: 1), labels: labels, gradient: Matrix(g, rows: 7, columns: 1))
            }
        }
        let expected = zip(logits, labels).map { z, t -> Double in
            let p = 1 / (1 + Foundation.exp(-Double(z)))
            return t == 1 ? -Foundation.log(p) : -Foundation.log1p(-p)
        }.reduce(0, +) / 7
        #expect(abs(Double(loss) - expected) < 1e-5 * max(1, expected))
        for i in logits.indices {
            func value(_ z: Float) -> Double {
                var shifted = logits
                shifted[i] = z
                return Double(shifted.withUnsafeMutableBufferPointer {
                    BinaryCrossEntropy.evaluate(logits: Matrix($0, rows: 7, columns: 1), labels: labels, gradient: nil)
                })
            }
            let h: Float = 1e-2
            let numeric = (value(logits[i] + h) - value(logits[i] - h)) / Double(2 * h)
            #expect(abs(numeric - Double(gradient[i])) < 1e-3, "z = \(logits[i])")
        }
    }

    @Test func singleDenseLayerBatchOfOne() throws {
        // Batch 1 goes through sgemv instead of sgemm.
        let spec = NetworkSpec(inputCount: 6, layers: [.dense(outputs: 3)], loss: .meanSquaredError)
        let targets: [Float] = [0.5, -1, 2]
        try targets.withUnsafeBufferPointer {
            try check(spec, batch: 1, targets: .values($0.baseAddress!), seed: 5)
        }
    }

    @Test func convolutionWithStridePaddingAndOddSizes() throws {
        let spec = NetworkSpec(inputShape: Shape3(channels: 2, height: 7, width: 6), layers: [
            .conv2d(Conv2DSpec(filters: 3, kernel: (3, 2), stride: (2, 1), padding: (1, 0))), .activation(.tanh),
            .conv2d(Conv2DSpec(filters: 2, kernel: (2, 3), stride: (1, 2), padding: (1, 1))), .activation(.tanh),
            .flatten, .dense(outputs: 4),
        ])
        #expect(spec.shapes?[1] == Shape3(channels: 3, height: 4, width: 5))
        let labels: [Int32] = [1, 3, 0]
        try labels.withUnsafeBufferPointer { try check(spec, batch: 3, targets: .labels($0.baseAddress!), seed: 21) }
    }

    /// Convolution → ReLU → max pool, with the ReLU fused into its neighbours.
    @Test func convolutionReLUMaxPoolFused() throws {
        let spec = ReLUFusionTests.spec(fused: true)
        let labels: [Int32] = [2, 0, 1]
        try labels.withUnsafeBufferPointer {
            try check(spec, batch: 3, targets: .labels($0.baseAddress!), seed: 21)
        }
    }

    @Test func samePaddingMaxPoolAndAveragePools() throws {
        let spec = NetworkSpec(inputShape: Shape3(channels: 3, height: 9, width: 8), layers: [
            .conv2d(Conv2DSpec(filters: 4, kernel: (3, 3), stride: (2, 2), same: true)), .activation(.tanh),
            .maxPool2d(PoolSpec(window: (2, 2), stride: (1, 1))),
            .avgPool2d(PoolSpec(window: (2, 2), stride: (1, 1))),
            .globalAvgPool, .dense(outputs: 3),
        ])
        #expect(spec.shapes?[1] == Shape3(channels: 4, height: 5, width: 4)) // ⌈9/2⌉ x ⌈8/2⌉
        let targets = testValues(2 * 3, seed: 3)
        let mse = NetworkSpec(inputShape: spec.inputShape, layers: spec.layers, loss: .meanSquaredError)
        try targets.withUnsafeBufferPointer { try check(mse, batch: 2, targets: .values($0.baseAddress!), seed: 22) }
    }

    @Test func batchNormAfterConvolutionAndDense() throws {
        let spec = NetworkSpec(inputShape: Shape3(channels: 2, height: 5, width: 5), layers: [
            .conv2d(Conv2DSpec(filters: 3, kernel: (3, 3), padding: (1, 1))), .batchNorm, .activation(.tanh),
            .flatten, .dense(outputs: 6), .batchNorm, .activation(.sigmoid), .dense(outputs: 3),
        ])
        let labels: [Int32] = [0, 2, 1, 1]
        try labels.withUnsafeBufferPointer { try check(spec, batch: 4, targets: .labels($0.baseAddress!), seed: 23) }
    }

    /// The SGD step equals gradients, then the update.
    @Test func fusedSGDStepEqualsSeparateUpdate() throws {
        let spec = NetworkSpec.mlp(inputs: 12, hidden: [10], outputs: 3)
        let (a, _) = try makeNetwork(spec, maxBatch: 4, seed: 11)
        let (b, _) = try makeNetwork(spec, maxBatch: 4, seed: 11)
        var input = testValues(4 * 12, seed: 12)
        let labels: [Int32] = [2, 0, 1, 1]
        try input.withUnsafeMutableBufferPointer { xb in
            try labels.withUnsafeBufferPointer { lb in
                let x = Matrix(xb, rows: 4, columns: 12)
                let lossA = a.computeGradients(input: x, targets: .labels(lb.baseAddress!))
                for p in a.parameters {
                    Kernels.sgdUpdate(p.value.baseAddress!, gradient: p.gradient.baseAddress!, learningRate: 0.3,
                                      decay: p.decays ? 0.01 : 0, count: p.count)
                }
                let lossB = b.sgdStep(input: x, targets: .labels(lb.baseAddress!), learningRate: 0.3, weightDecay: 0.01)
                #expect(lossA == lossB)
                for (pa, pb) in zip(a.parameters, b.parameters) {
                    for i in 0..<pa.count { #expect(abs(pa.value[i] - pb.value[i]) < 1e-6, "\(pa.name)[\(i)]") }
                }
                _ = try #require(a.parameters.count == 4 ? a : nil)
            }
        }
    }
}
