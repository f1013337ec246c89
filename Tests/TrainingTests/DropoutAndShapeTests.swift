import Testing
import Arena
import Training
import ModelFile
import LowLevel

@Suite struct DropoutAndShapeTests {
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
