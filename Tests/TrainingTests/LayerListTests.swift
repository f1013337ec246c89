import LowLevel
import Testing
import Training
import ModelFile

@Suite struct LayerListTests {
    @Test func parsesLeNetWrittenOut() throws {
        let layers = try LayerList.parse("conv:6,5x5,p=2 relu maxpool:2 conv:16,5 relu maxpool:2x2,s=2x2 flatten dense:120 relu dense:84 relu dense:10")
        #expect(NetworkSpec(inputShape: Shape3(channels: 1, height: 28, width: 28), layers: layers) == NetworkSpec.lenet())
    }

    @Test func parsesEveryKind() throws {
        let layers = try LayerList.parse("conv:4,3x2,s=2x1,p=same; bn; elu; avgpool:2,s=1; dropout:0.25; gap; flatten; dense:3; tanh; sigmoid")
        #expect(layers.count == 10)
        #expect(layers[0] == .conv2d(Conv2DSpec(filters: 4, kernel: (3, 2), stride: (2, 1), same: true)))
        #expect(layers[3] == .avgPool2d(PoolSpec(window: (2, 2), stride: (1, 1))))
        #expect(layers[4] == .dropout(rate: 0.25))
    }

    @Test(arguments: ["", "conv", "conv:6", "conv:0,5x5", "conv:6,5x5,q=3", "dense:-1", "dropout:1", "maxpool", "lstm:3", "conv:6,5y5"])
    func rejectsMalformedLists(text: String) {
        #expect(throws: LayerList.ParseError.self) { try LayerList.parse(text) }
    }
}
