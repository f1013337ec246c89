import Testing
import Foundation
import Arena
import LowLevel
import ModelFile
import Training
@testable import ONNX
import InferC

/// Model file → ONNX → model file keeps the outputs (onnxruntime's side of the round trip runs in
/// scripts/onnx-check.sh, since the tests do not depend on Python).
@Suite struct ONNXExportTests {
    func roundTrip(_ file: [UInt8], inputs: [[Float]], tolerance: Float = 1e-6) throws {
        let onnx = try ONNXExport.onnx(modelFile: file)
        let back = try ONNXImport.convert(onnx)
        let (a, b) = (try CModel(file), try CModel(back.modelFile))
        #expect(a.outputKind == b.outputKind && a.inputLength == b.inputLength && a.outputLength == b.outputLength)
        for x in inputs {
            let d = maxDifference(try a.run(x), try b.run(x))
            #expect(d <= tolerance, "differs by \(d)")
        }
    }

    @Test(arguments: ["mlp", "lenet", "block", "ops", "torch_lenet"])
    func importedFixturesSurviveExportAndImport(name: String) throws {
        let fixture = try ONNXFixture(name)
        try roundTrip(try ONNXImport.convert(fixture.onnx).modelFile, inputs: fixture.inputs)
    }

    /// A LeNet-5 of the trainer's, written as version 1 (a layer list) and version 2 (a graph).
    @Test(arguments: [1, 2])
    func aTrainedNetworksFileExports(version: Int) throws {
        let spec = NetworkSpec.lenet()
        let arena = try ArenaAllocator(capacity: spec.arenaBytes(maxBatch: 1))
        var rng = RandomGenerator(seed: 7)
        let network = try Network(spec: spec, maxBatch: 1, arena: arena, rng: &rng)
        let file = try ModelWriter.encode(network: network, description: .init(inputShape: (1, 28, 28), outputKind: .probabilities, inputEncoding: .pixels),
                                          version: version)
        let inputs = (0..<3).map { _ in (0..<784).map { _ in rng.nextUniform() } }
        try roundTrip(file, inputs: inputs)
        let summary = try ONNXImport.convert(try ONNXExport.onnx(modelFile: file)).summary
        #expect(summary.contains("Conv") && summary.contains("MaxPool") && summary.contains("Softmax"), "\(summary)")
    }

    @Test func theExportIsAValidONNXModel() throws {
        let file = try ONNXImport.convert(try ONNXFixture("block").onnx).modelFile
        let model = try Onnx_ModelProto(serializedBytes: try ONNXExport.onnx(modelFile: file))
        #expect(model.opsetImport.first?.version == 23, "attention needs opset 23")
        #expect(model.graph.input.count == 1 && model.graph.output.count == 1)
        #expect(model.graph.input[0].type.tensorType.shape.dim.first?.dimParam == "N")
        #expect(model.graph.node.contains { $0.opType == "Attention" } && model.graph.node.contains { $0.opType == "LayerNormalization" })
        // Every node's inputs are the graph input, an initializer or an earlier node's output.
        var available = Set(model.graph.initializer.map(\.name) + [model.graph.input[0].name, ""])
        for node in model.graph.node {
            #expect(node.input.allSatisfy { available.contains($0) }, "\(node.name) reads an undefined tensor")
            available.formUnion(node.output)
        }
        #expect(available.contains(model.graph.output[0].name))
    }

    @Test func aDamagedModelFileIsAnError() {
        #expect(throws: ONNXError.self) { try ONNXExport.onnx(modelFile: [1, 2, 3]) }
        #expect(throws: ONNXError.self) { try ONNXExport.onnx(modelFile: []) }
    }
}

/// A character GPT's file (token ids in, logits out, a vocabulary) through ONNX and back: the
/// import of its Gather, Slice and Attention gives the same next-token probabilities from C.
@Suite struct ONNXSequenceModelTests {
    @Test func aGPTSurvivesExportAndImport() throws {
        let vocabulary = Array("\n abcdefghij".utf8).sorted()
        let config = GPTConfig(vocabulary: vocabulary.count, layers: 1, heads: 2, width: 16, context: 8)
        let graph = try GPTGraph.inference(config).graph
        var rng = RandomGenerator(seed: 11)
        var weights: [String: [Float]] = [:]
        for id in graph.parameters {
            weights[graph.values[id.index].name] = (0..<graph.type(of: id).elementsPerSample).map { _ in 0.3 * rng.nextGaussian() }
        }
        let file = try ModelWriter.encode(gpt: config, weights: weights, vocabulary: vocabulary)
        let onnx = try ONNXExport.onnx(modelFile: file)
        let proto = try Onnx_ModelProto(serializedBytes: onnx)
        let stored = proto.metadataProps.first { $0.key == "infer.vocabulary" }?.value
        #expect(stored == vocabulary.map { String(format: "%02x", $0) }.joined())
        #expect(throws: ONNXError.self) { try ONNXImport.convert(onnx) }  // token ids need a vocabulary
        let back = try ONNXImport.convert(onnx, options: .init(vocabulary: vocabulary))
        #expect(back.summary.contains("Gather") && back.summary.contains("Slice") && back.summary.contains("token ids"), "\(back.summary)")
        let (a, b) = (try CModel(file), try CModel(back.modelFile))
        #expect(infer_vocab_len(b.handle) == vocabulary.count && infer_context_len(b.handle) == 8)
        #expect(infer_reset(a.handle) == 0 && infer_reset(b.handle) == 0)
        var p = [Float](repeating: 0, count: vocabulary.count), q = p
        for token: Int32 in [3, 1, 4, 1, 5, 9, 2, 6, 5, 3] {  // past the context too
            #expect(infer_next(a.handle, token, &p, p.count) == 0 && infer_next(b.handle, token, &q, q.count) == 0)
            #expect(maxDifference(p, q) <= 1e-6, "\(maxDifference(p, q))")
        }
    }
}
