import Testing
import Foundation
@testable import ONNX
import InferC

/// ONNX files written by onnx.helper (Tests/Fixtures/onnx/make_fixtures.py) imported as model files
/// (and one by torch.onnx.export) and run through the C interface: the outputs match onnxruntime's within 1e-5.
@Suite struct ONNXImportTests {
    @Test(arguments: [("mlp", Int32(1)), ("lenet", 1), ("block", 0), ("ops", 0), ("torch_lenet", 1)])
    func fixturesMatchOnnxruntimeThroughC(name: String, kind: Int32) throws {
        let fixture = try ONNXFixture(name)
        let result = try ONNXImport.convert(fixture.onnx)
        let model = try CModel(result.modelFile)
        #expect(model.outputKind == kind, "\(result.summary)")
        #expect(model.inputLength == fixture.inputs[0].count && model.outputLength == fixture.outputs[0].count)
        for (input, expected) in zip(fixture.inputs, fixture.outputs) {
            let output = try model.run(input)
            #expect(maxDifference(output, expected) <= 1e-5, "\(name): \(maxDifference(output, expected))")
        }
    }

    @Test func theLeNetReadsDigitsAsPixelsAndTheMLPAsFloatsUnlessTold() throws {
        let lenet = try ONNXImport.convert(try ONNXFixture("lenet").onnx)
        #expect(lenet.summary.contains("input 1x28x28 (pixels), output probabilities"), "\(lenet.summary)")
        let mlp = try ONNXFixture("mlp")
        #expect(try ONNXImport.convert(mlp.onnx).summary.contains("input 1x1x784 (floats)"))
        let image = try ONNXImport.convert(mlp.onnx, options: .init(inputShape: (1, 28, 28)))
        #expect(image.summary.contains("input 1x28x28 (pixels)"), "\(image.summary)")
        #expect(throws: ONNXError.self) { try ONNXImport.convert(mlp.onnx, options: .init(inputShape: (1, 28, 27))) }
    }
}
