import Testing
import Arena
import Training
import ModelFile
import LowLevel
import Graph

/// A ReLU between a stride-1 convolution and a max pool runs inside its neighbours (the graph
/// pass `fusingConvReLUMaxPool`). The same network with an identity layer (dropout of rate 0) after
/// each ReLU, which stops the fusion, must give bit-identical outputs, loss and gradients.
@Suite struct ReLUFusionTests {
    init() { BLAS.configure(threads: 1) }

    static func spec(fused: Bool) -> NetworkSpec {
        let breakFusion: [LayerSpec] = fused ? [] : [.dropout(rate: 0)]
        return NetworkSpec(inputShape: Shape3(channels: 2, height: 9, width: 11), layers:
            [.conv2d(Conv2DSpec(filters: 5, kernel: (3, 3), padding: (1, 1))), .activation(.relu)] + breakFusion
            + [.maxPool2d(PoolSpec(window: (2, 2))),
               .conv2d(Conv2DSpec(filters: 17, kernel: (2, 2))), .activation(.relu)] + breakFusion
            + [.maxPool2d(PoolSpec(window: (2, 2), stride: (1, 1))), .flatten, .dense(outputs: 3)])
    }

    /// How many ReLUs of the spec's graph run inside a convolution, and how many stay nodes.
    static func relus(_ spec: NetworkSpec) throws -> (fused: Int, separate: Int) {
        let graph = try NetworkGraph(spec).graph
        return (graph.nodes.filter { $0.op == .conv2d && $0.attributes.int("relu") == 1 }.count,
                graph.nodes.filter { $0.op == .relu }.count)
    }

    @Test func fusionAppliesWhereExpected() throws {
        let fused = Self.spec(fused: true), plain = Self.spec(fused: false)
        #expect(try Self.relus(fused) == (2, 0))
        #expect(try Self.relus(plain) == (0, 2))
        // A strided convolution (im2col) or an average pool after the ReLU: no fusion.
        let strided = NetworkSpec(inputShape: Shape3(channels: 1, height: 8, width: 8), layers: [
            .conv2d(Conv2DSpec(filters: 2, kernel: (3, 3), stride: (2, 2))), .activation(.relu), .maxPool2d(PoolSpec(window: (2, 2)))])
        let averaged = NetworkSpec(inputShape: Shape3(channels: 1, height: 8, width: 8), layers: [
            .conv2d(Conv2DSpec(filters: 2, kernel: (3, 3))), .activation(.relu), .avgPool2d(PoolSpec(window: (2, 2)))])
        #expect(try Self.relus(strided) == (0, 1) && Self.relus(averaged) == (0, 1))
        // The fused network needs less arena: the ReLUs' buffers are the convolutions'.
        #expect(fused.arenaBytes(maxBatch: 8) < plain.arenaBytes(maxBatch: 8))
    }

    @Test(arguments: [1, 5])
    func fusedAndUnfusedAgreeBitForBit(batch: Int) throws {
        let (fused, _) = try makeNetwork(Self.spec(fused: true), maxBatch: batch, seed: 11)
        let (plain, _) = try makeNetwork(Self.spec(fused: false), maxBatch: batch, seed: 11)
        var input = testValues(batch * fused.inputCount, seed: 12)
        let labels = (0..<batch).map { Int32($0 % 3) }
        try input.withUnsafeMutableBufferPointer { buffer in
            let x = Matrix(buffer, rows: batch, columns: fused.inputCount)
            for training in [false, true] {
                let a = Array(UnsafeBufferPointer(start: fused.forward(x, training: training).base, count: batch * 3))
                let b = Array(UnsafeBufferPointer(start: plain.forward(x, training: training).base, count: batch * 3))
                #expect(a == b, "training \(training)")
            }
            try labels.withUnsafeBufferPointer { l in
                let lossA = fused.computeGradients(input: x, targets: .labels(l.baseAddress!))
                let lossB = plain.computeGradients(input: x, targets: .labels(l.baseAddress!))
                #expect(lossA == lossB)
                try #require(fused.parameters.count == plain.parameters.count)
                for (p, q) in zip(fused.parameters, plain.parameters) {
                    #expect(Array(p.gradient) == Array(q.gradient), "\(p.name)")
                    #expect(p.gradient.contains { $0 != 0 }, "\(p.name) has no gradient")
                }
            }
        }
    }
}
