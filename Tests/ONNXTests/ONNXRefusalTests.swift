import Testing
import Foundation
import SwiftProtobuf
@testable import ONNX

/// What the importer refuses, and that each refusal names the op and the node (never an
/// approximation imported silently, never a crash on a damaged file).
@Suite struct ONNXRefusalTests {
    static func tensorInfo(_ name: String, _ dims: [Int64?]) -> Onnx_ValueInfoProto {
        var v = Onnx_ValueInfoProto()
        v.name = name
        var t = Onnx_TypeProto.Tensor()
        t.elemType = 1
        t.shape.dim = dims.map { d in
            var dim = Onnx_TensorShapeProto.Dimension()
            if let d { dim.dimValue = d } else { dim.dimParam = "N" }
            return dim
        }
        v.type.tensorType = t
        return v
    }

    static func node(_ op: String, _ inputs: [String], _ outputs: [String], name: String, _ attributes: [Onnx_AttributeProto] = []) -> Onnx_NodeProto {
        var n = Onnx_NodeProto()
        (n.opType, n.input, n.output, n.name, n.attribute) = (op, inputs, outputs, name, attributes)
        return n
    }

    static func attribute(_ name: String, float: Float? = nil, string: String? = nil) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto()
        a.name = name
        if let float { a.f = float; a.type = .float }
        if let string { a.s = Data(string.utf8); a.type = .string }
        return a
    }

    /// A graph from x [N, 4] through `nodes` to "y" [N, 4], with a [4] initializer "c".
    static func model(_ nodes: [Onnx_NodeProto], opset: Int64 = 17, domain: String = "") -> [UInt8] {
        var m = Onnx_ModelProto()
        m.irVersion = 8
        var o = Onnx_OperatorSetIdProto()
        (o.domain, o.version) = (domain, opset)
        m.opsetImport = [o]
        m.graph.node = nodes
        m.graph.input = [tensorInfo("x", [nil, 4])]
        m.graph.output = [tensorInfo("y", [nil, 4])]
        m.graph.initializer = [KnownTensor.proto(name: "c", shape: [4], floats: [1, 2, 3, 4])]
        return [UInt8](try! m.serializedData())
    }

    func message(_ bytes: [UInt8]) -> String {
        do { _ = try ONNXImport.convert(bytes); return "imported" } catch { return error.description }
    }

    @Test func aPlainGraphImports() throws {
        let result = try ONNXImport.convert(Self.model([Self.node("Add", ["x", "c"], ["y"], name: "plus")]))
        let out = try CModel(result.modelFile).run([1, 1, 1, 1])
        #expect(out == [2, 3, 4, 5])
    }

    @Test func unsupportedOpsNameTheOpAndTheNode() {
        let lstm = message(Self.model([Self.node("LSTM", ["x"], ["y"], name: "encoder.lstm")]))
        #expect(lstm.contains("node 'encoder.lstm' (LSTM)") && lstm.contains("the op LSTM is not supported"), "\(lstm)")
        let inner = message(Self.model([Self.node("Softmax", ["x"], ["s"], name: "inner"), Self.node("Relu", ["s"], ["y"], name: "after")]))
        #expect(inner.contains("node 'inner' (Softmax)") && inner.contains("Softmax inside the graph"), "\(inner)")
        let divide = message(Self.model([Self.node("Relu", ["x"], ["r"], name: "r"), Self.node("Div", ["x", "r"], ["y"], name: "ratio")]))
        #expect(divide.contains("node 'ratio' (Div)") && divide.contains("division of two computed tensors"), "\(divide)")
        let elu = message(Self.model([Self.node("Elu", ["x"], ["y"], name: "e", [Self.attribute("alpha", float: 0.5)])]))
        #expect(elu.contains("node 'e' (Elu)") && elu.contains("alpha 0.5"), "\(elu)")
        let gelu = message(Self.model([Self.node("Gelu", ["x"], ["y"], name: "g", [Self.attribute("approximate", string: "tanh")])]))
        #expect(gelu.contains("exact erf form"), "\(gelu)")
        let unknownAttribute = message(Self.model([Self.node("Relu", ["x"], ["y"], name: "r", [Self.attribute("fancy", float: 1)])]))
        #expect(unknownAttribute.contains("attribute 'fancy' is not supported"), "\(unknownAttribute)")
    }

    @Test func unsupportedOpsetsAndDomainsAreRefused() {
        let old = message(Self.model([Self.node("Add", ["x", "c"], ["y"], name: "plus")], opset: 9))
        #expect(old.contains("opset 9 of ai.onnx is not supported"), "\(old)")
        let future = message(Self.model([Self.node("Add", ["x", "c"], ["y"], name: "plus")], opset: 99))
        #expect(future.contains("opset 99"), "\(future)")
        let none = message(Self.model([Self.node("Add", ["x", "c"], ["y"], name: "plus")], domain: "com.example"))
        #expect(none.contains("imports no version of the standard operator set"), "\(none)")
        var custom = Self.node("FusedGelu", ["x"], ["y"], name: "fused")
        custom.domain = "com.microsoft"
        let vendor = message(Self.model([custom]))
        #expect(vendor.contains("node 'fused' (FusedGelu)") && vendor.contains("domain 'com.microsoft'"), "\(vendor)")
    }

    @Test func damagedFilesAreErrorsNotCrashes() {
        let good = Self.model([Self.node("Add", ["x", "c"], ["y"], name: "plus")])
        #expect(message(Array(good.prefix(good.count / 2))) != "imported")
        #expect(message([0xFF, 0xFF, 0xFF, 0xFF, 0x0F]) != "imported")
        #expect(message([]).contains("holds no graph"))
        // Every truncation and a flipped byte anywhere: an error or an import, never a crash.
        for cut in stride(from: 0, to: good.count, by: 7) { _ = message(Array(good.prefix(cut))) }
        for i in stride(from: 0, to: good.count, by: 5) { var b = good; b[i] ^= 0x5A; _ = message(b) }
        // Initializer data that does not fit its shape.
        var m = try! Onnx_ModelProto(serializedBytes: good)
        m.graph.initializer[0].dims = [5]
        #expect(message([UInt8](try! m.serializedData())).contains("holds 16 bytes of data for its shape [5] (5 values)"))
        m.graph.initializer[0].dims = [4]
        m.graph.initializer[0].dataLocation = .external
        #expect(message([UInt8](try! m.serializedData())).contains("external file"))
    }
}

/// Seeded byte damage to the real fixtures: every mutant imports or is refused, and whatever
/// imports opens and runs through C (a crash fails the whole test process).
@Suite struct ONNXMutationTests {
    @Test(arguments: ["mlp", "lenet", "block", "ops", "torch_lenet"])
    func damagedFixturesNeverCrash(name: String) throws {
        let fixture = try ONNXFixture(name)
        var state: UInt64 = 0x9E37_79B9_7F4A_7C15 &* UInt64(name.utf8.count + 1)
        func next() -> Int { state = state &* 6364136223846793005 &+ 1442695040888963407; return Int(state >> 33) }
        var imported = 0
        for _ in 0..<200 {
            var bytes = fixture.onnx
            for _ in 0..<(1 + next() % 4) { bytes[next() % bytes.count] = UInt8(truncatingIfNeeded: next()) }
            if next() % 5 == 0 { bytes = Array(bytes.prefix(next() % bytes.count)) }
            guard let result = try? ONNXImport.convert(bytes) else { continue }
            imported += 1
            guard let model = try? CModel(result.modelFile) else { Issue.record("an imported file does not open"); continue }
            if let output = try? model.run([Float](repeating: 0.5, count: model.inputLength)) { #expect(output.count == model.outputLength) }
        }
        #expect(imported < 200)
    }
}
