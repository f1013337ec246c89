import Testing
import Foundation
@testable import Graph

/// Shape inference and validation: errors name the node and the shapes, and a graph read back
/// from its encoding is checked as thoroughly as one built.
@Suite struct GraphBuilderTests {
    @Test func shapeErrorsNameTheNodeAndTheShapes() throws {
        let g = GraphBuilder()
        let x = g.input("x", shape: [4])
        let w = g.parameter("w", shape: [5, 3])
        let error = #expect(throws: GraphError.self) {
            try g.scope("block3") { () throws(GraphError) in try g.scope("attn") { () throws(GraphError) in try g.matmul(x, w, name: "qkv") } }
        }
        let message = error?.message ?? ""
        #expect(message.contains("block3.attn.qkv") && message.contains("matmul"), "\(message)")
        #expect(message.contains("[batch, 4]") && message.contains("[5, 3]"), "\(message)")
        #expect(g.nodes.isEmpty, "a rejected node is not added")
    }

    @Test func broadcastingRules() throws {
        let g = GraphBuilder()
        let x = g.input("x", shape: [2, 3]), row = g.parameter("row", shape: [3]), col = g.parameter("col", shape: [2])
        let perSample = g.input("s", shape: [])
        #expect(g.type(of: try g.add(x, row)) == TensorType([2, 3], batched: true))
        #expect(g.type(of: try g.mul(row, x)) == TensorType([2, 3], batched: true))
        #expect(throws: GraphError.self) { try g.add(x, col) }          // [2] is not a trailing part of [2, 3]
        #expect(throws: GraphError.self) { try g.add(perSample, row) }  // a per-sample scalar against a weight row
        let labels = g.input("labels", shape: [], element: .int32)
        #expect(throws: GraphError.self) { try g.exp(labels) }
        #expect(g.type(of: try g.sum(x, over: .lastAxis)) == TensorType([2], batched: true))
        #expect(g.type(of: try g.mean(x, over: .all)) == TensorType([], batched: false))
    }

    /// With `sharesParametersByName`, a parameter or state asked for again under its name and type
    /// is the same value (two computations on one set of weights); without it, a second one.
    @Test func parametersSharedByName() throws {
        let g = GraphBuilder()
        g.sharesParametersByName = true
        let w = g.parameter("w", shape: [3]), m = g.state("m", shape: [3])
        #expect(g.parameter("w", shape: [3]) == w && g.state("m", shape: [3]) == m)
        #expect(g.parameter("w", shape: [4]) != w, "another shape is another value")
        #expect(g.state("w", shape: [3]) != w, "a state is not the parameter of its name")
        let plain = GraphBuilder()
        let a = plain.parameter("w", shape: [3]), b = plain.parameter("w", shape: [3])
        #expect(a != b && plain.values[b.index].name != "w")
    }

    @Test func scopesNameParametersAndNodes() throws {
        let g = GraphBuilder()
        let x = g.input("x", shape: [2])
        let y = try g.scope("block0") { () throws(GraphError) -> ValueID in
            let w = g.parameter("weight", shape: [2, 2])
            return try g.matmul(x, w, name: "qkv")
        }
        let graph = try g.build()
        #expect(graph.value(named: "block0.weight") != nil)
        #expect(graph.values[y.index].name == "block0.qkv")
        #expect(graph.summary.contains("block0.qkv = matmul(x, block0.weight) -> [batch, 2]"))
    }

    static func encoded(_ graph: Graph) throws -> [String: Any] {
        try JSONSerialization.jsonObject(with: JSONEncoder().encode(graph)) as! [String: Any]
    }
    static func decode(_ object: [String: Any]) throws -> Graph {
        try JSONDecoder().decode(Graph.self, from: JSONSerialization.data(withJSONObject: object))
    }

    @Test func encodingRoundTrips() throws {
        let m = try MemoryPlanTests.mlp(hidden: [8])
        let back = try Self.decode(try Self.encoded(m.graph))
        #expect(back == m.graph)
    }

    /// Corrupt graphs are refused with a message when decoded: a node reading a later value, a
    /// value id out of range, an output type that does not follow from the inputs.
    @Test func decodingValidates() throws {
        let m = try MemoryPlanTests.mlp(hidden: [8])
        func corrupt(_ change: (inout [[String: Any]], inout [[String: Any]]) -> Void) throws -> String {
            var object = try Self.encoded(m.graph)
            var nodes = object["nodes"] as! [[String: Any]], values = object["values"] as! [[String: Any]]
            change(&nodes, &values)
            object["nodes"] = nodes
            object["values"] = values
            do { _ = try Self.decode(object); return "accepted" } catch { return "\(error)" }
        }
        let later = try corrupt { nodes, _ in nodes[0]["inputs"] = [["index": m.logits.index], ["index": 2]] }
        #expect(later.contains("computed by a later node"), "\(later)")
        let outside = try corrupt { nodes, _ in nodes[1]["inputs"] = [["index": 999], ["index": 3]] }
        #expect(outside.contains("outside"), "\(outside)")
        let shape = try corrupt { _, values in
            var type = values[m.logits.index]["type"] as! [String: Any]
            type["shape"] = [11]
            values[m.logits.index]["type"] = type
        }
        #expect(shape.contains("its inputs give"), "\(shape)")
        let op = try corrupt { nodes, _ in nodes[0]["op"] = "convolution3d" }
        #expect(op.contains("convolution3d"), "\(op)")
    }
}
