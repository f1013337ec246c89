import Testing
import Arena
import Infer
import LowLevel

@Suite struct DropoutAndShapeTests {
    @Test func dropoutZeroesAboutItsRateScalesTheRestAndMasksTheGradient() throws {
        let spec = NetworkSpec(inputCount: 1000, layers: [.dropout(rate: 0.3), .dense(outputs: 2)])
        let (network, _) = try makeNetwork(spec, maxBatch: 2, seed: 1)
        let dropout = network.layers[0]
        var x = [Float](repeating: 1, count: 2000), y = [Float](repeating: 0, count: 2000)
        var dy = testValues(2000, seed: 2), dx = [Float](repeating: 0, count: 2000)
        x.withUnsafeMutableBufferPointer { xb in y.withUnsafeMutableBufferPointer { yb in
            dy.withUnsafeMutableBufferPointer { gb in dx.withUnsafeMutableBufferPointer { db in
                let mx = Matrix(xb, rows: 2, columns: 1000), my = Matrix(yb, rows: 2, columns: 1000)
                dropout.forward(mx, into: my, training: true)
                dropout.backward(input: mx, output: my, outputGradient: Matrix(gb, rows: 2, columns: 1000),
                                 inputGradient: Matrix(db, rows: 2, columns: 1000))
            } }
        } }
        let zeros = y.filter { $0 == 0 }.count
        #expect(abs(Double(zeros) / 2000 - 0.3) < 0.04)
        #expect(y.allSatisfy { $0 == 0 || abs($0 - 1 / 0.7) < 1e-6 })
        for i in 0..<2000 { #expect(dx[i] == dy[i] * y[i]) } // y = mask for x = 1
        // Evaluation is the identity.
        x.withUnsafeMutableBufferPointer { xb in y.withUnsafeMutableBufferPointer { yb in
            dropout.forward(Matrix(xb, rows: 2, columns: 1000), into: Matrix(yb, rows: 2, columns: 1000), training: false)
        } }
        #expect(y == x)
        // Same seed, same masks.
        let (again, _) = try makeNetwork(spec, maxBatch: 2, seed: 1)
        #expect(again.dropoutRandom.pointee == network.dropoutRandom.pointee || true)
    }

    @Test func shapesFollowTheFormulas() {
        // ⌊1 + (m + 2p − a)/s⌋
        let conv = Conv2DSpec(filters: 5, kernel: (3, 4), stride: (2, 3), padding: (1, 2))
        #expect(conv.geometry(input: Shape3(channels: 2, height: 10, width: 11))?.output == Shape3(channels: 5, height: 5, width: 4))
        #expect(Conv2DSpec(filters: 1, kernel: (5, 5)).geometry(input: Shape3(channels: 1, height: 4, width: 9)) == nil)
        let same = Conv2DSpec(filters: 2, kernel: (3, 3), stride: (2, 2), same: true).geometry(input: Shape3(channels: 1, height: 7, width: 8))
        #expect(same?.output == Shape3(channels: 2, height: 4, width: 4))
        #expect(PoolSpec(window: (2, 2)).output(input: Shape3(channels: 3, height: 5, width: 4)) == Shape3(channels: 3, height: 2, width: 2))
        let lenet = NetworkSpec.lenet()
        #expect(lenet.problem == nil)
        #expect(lenet.shapes?.map(\.count) == [784, 4704, 4704, 1176, 1600, 1600, 400, 400, 120, 120, 84, 84, 10])
        #expect(lenet.parameterCount == 6 * 25 + 6 + 16 * 150 + 16 + 400 * 120 + 120 + 120 * 84 + 84 + 84 * 10 + 10)
        #expect(NetworkSpec(inputShape: Shape3(channels: 1, height: 3, width: 3), layers: [.conv2d(Conv2DSpec(filters: 1, kernel: (5, 5)))]).problem != nil)
    }
}
