import Testing
import Foundation
import Arena
import Infer
import Training
import ModelFile
import InferC
import LowLevel

/// The course's worked examples on networks, checked with the notes' own numbers, in Swift and
/// through the C interface (issue 15).
@Suite struct CourseNetworkExampleTests {
    /// The hand-set XOR network: h = ReLU(Uᵀx + c) with U = [[1, 1], [1, 1]], c = (0, −1), then
    /// y = wᵀh + b with w = (2, −4), b = −1. It gives −1, 1, 1, −1 on (0,0), (0,1), (1,0), (1,1):
    /// positive exactly for XOR = 1.
    @Test func handSetXORNetworkClassifiesXOR() throws {
        let spec = NetworkSpec.mlp(inputs: 2, hidden: [2], outputs: 1, activation: .relu, loss: .meanSquaredError)
        let tensors = [ModelTensor(name: "dense0.weight", shape: [2, 2], values: [1, 1, 1, 1]),
                       ModelTensor(name: "dense0.bias", shape: [2], values: [0, -1]),
                       ModelTensor(name: "dense1.weight", shape: [2, 1], values: [2, -4]),
                       ModelTensor(name: "dense1.bias", shape: [1], values: [-1])]
        let bytes = try ModelWriter.encode(spec: spec, tensors: tensors,
                                           description: .init(inputShape: (1, 1, 2), outputKind: .values, inputEncoding: .floats))
        let model = try OpenModel(bytes)
        for (x, expected) in [([0, 0], -1), ([0, 1], 1), ([1, 0], 1), ([1, 1], -1)] as [([Float], Float)] {
            let (status, output) = model.run(x)
            #expect(status == 0 && output == [expected], "x = \(x): \(output)")
            #expect((output[0] > 0) == (x[0] != x[1]))
        }
    }

    /// The 5×5 binary input convolved with the 3×3 kernel [[1,0,1],[0,1,0],[1,0,1]] (stride 1,
    /// no padding) gives [[4,3,4],[2,4,3],[2,3,4]], through `Conv2D` and through the C runtime.
    @Test func fiveByFiveConvolutionExample() throws {
        let input: [Float] = [1, 1, 1, 0, 0,
                              0, 1, 1, 1, 0,
                              0, 0, 1, 1, 1,
                              0, 0, 1, 1, 0,
                              0, 1, 1, 0, 0]
        let kernel: [Float] = [1, 0, 1, 0, 1, 0, 1, 0, 1]
        let expected: [Float] = [4, 3, 4, 2, 4, 3, 2, 3, 4]
        let spec = NetworkSpec(inputShape: Shape3(channels: 1, height: 5, width: 5),
                               layers: [.conv2d(Conv2DSpec(filters: 1, kernel: (3, 3)))], loss: .meanSquaredError)
        let tensors = [ModelTensor(name: "conv0.weight", shape: [1, 1, 3, 3], values: kernel),
                       ModelTensor(name: "conv0.bias", shape: [1], values: [0])]
        // Conv2D in a network, at batch 1 and in a batch of 3.
        let arena = try ArenaAllocator(capacity: spec.arenaBytes(maxBatch: 3))
        var rng = RandomGenerator(seed: 1)
        let network = try Network(spec: spec, maxBatch: 3, arena: arena, rng: &rng)
        for p in network.parameters { _ = p.value.update(fromContentsOf: tensors.first { $0.name == p.name }!.values) }
        #expect(swiftOutput(network, input) == expected)
        var batch = input + input.map { 2 * $0 } + input
        let out = batch.withUnsafeMutableBufferPointer { Array(network.forward(Matrix($0, rows: 3, columns: 25)).buffer) }
        #expect(Array(out[0..<9]) == expected && Array(out[9..<18]) == expected.map { 2 * $0 } && Array(out[18..<27]) == expected)
        // The same through the C interface.
        let bytes = try ModelWriter.encode(spec: spec, tensors: tensors,
                                           description: .init(inputShape: (1, 5, 5), outputKind: .values, inputEncoding: .floats))
        let (status, output) = try OpenModel(bytes).run(input)
        #expect(status == 0 && output == expected)
    }
}
