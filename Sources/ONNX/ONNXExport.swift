import Foundation
import Graph
import ModelFile
import SwiftProtobuf
import Training

/// Model file → ONNX: the file's inference graph written as an ONNX model (opset 17, or 20 with
/// GELU, 23 with attention), weights as initializers, a symbolic batch dimension "N" first, so a
/// viewer shows it and onnxruntime runs it. A "probabilities" model ends in a Softmax. Version-1
/// files are rebuilt as graphs first. Models whose meaning lies outside the graph (a flow's
/// density, a diffusion model's sampler) and the classic models' kernel, vote and neighbour ops
/// have no ONNX form here and are refused.
public enum ONNXExport {
    public static func onnx(modelFile bytes: [UInt8], graphName: String = "infer") throws(ONNXError) -> [UInt8] {
        let result: Result<[UInt8], ONNXError> = bytes.withUnsafeBytes { raw in
            let file: ModelFile
            do { file = try ModelFile(base: raw.baseAddress!, length: raw.count) } catch {
                return .failure(ONNXError("not a valid model file: \(String(cString: ErrorMessage.current))"))
            }
            if file.graph == nil {
                return Result { () throws(ONNXError) in try onnx(modelFile: versionTwo(file), graphName: graphName) }
            }
            return Result { () throws(ONNXError) in
                var exporter = try GraphExporter(file, name: graphName)
                return try exporter.model()
            }
        }
        return try result.get()
    }

    /// A version-1 file (a layer list) as the version-2 file of the same graph.
    static func versionTwo(_ file: ModelFile) throws(ONNXError) -> [UInt8] {
        let v1: VersionOneGraph
        do { v1 = try VersionOneGraph(file) } catch { throw ONNXError("cannot read the version-1 file's layers as a graph: \(error)") }
        var values: TensorValues = [:]
        for (value, tensor) in v1.weights {
            values[value.index] = Array(UnsafeBufferPointer(start: file.floats(tensor), count: file.tensor(tensor).count))
        }
        do {
            return try ModelWriter.encodeGraph(v1.graph, values: values, description: .init(
                inputShape: (file.inputChannels, file.inputHeight, file.inputWidth), outputKind: file.outputKind, inputEncoding: file.inputEncoding))
        } catch { throw ONNXError("cannot rebuild the version-1 file as a graph: \(error)") }
    }
}

/// The walk over one version-2 file's nodes.
struct GraphExporter {
    let file: ModelFile
    let section: GraphSection
    let name: String
    private var nodes: [Onnx_NodeProto] = []
    private var initializers: [Onnx_TensorProto] = []
    private var names: [String] = []
    private var opset = 17
    private var label = ""

    init(_ file: ModelFile, name: String) throws(ONNXError) {
        guard let section = file.graph else { throw ONNXError("no graph") }
        if section.density != nil { throw ONNXError("a flow's file holds its density as a second graph output; it has no ONNX form here") }
        if section.diffusion != nil { throw ONNXError("a diffusion model's file holds its sampler and schedule beside the graph; it has no ONNX form here") }
        (self.file, self.section, self.name) = (file, section, name)
        // ONNX names are unique: the file's value names, with the index added to a repeated one.
        var seen = Set<String>()
        names = (0..<section.valueCount).map { i in
            var n = String(cString: file.valueName(i))
            if n.isEmpty || seen.contains(n) { n += "_\(i)" }
            seen.insert(n)
            return n
        }
    }

    private func fail(_ message: String) -> ONNXError { ONNXError("\(label): \(message)") }

    /// A value's shape as ONNX sees it: the batch "N" first for batched values.
    private func dims(_ v: Int) -> [Int] {
        let r = file.value(v)
        return Array([r.dims.0, r.dims.1, r.dims.2, r.dims.3].prefix(r.rank))
    }

    private func floats(_ v: Int) throws(ONNXError) -> [Float] {
        guard let t = file.value(v).tensor else { throw fail("'\(names[v])' must be a parameter") }
        return Array(UnsafeBufferPointer(start: file.floats(t), count: file.tensor(t).count))
    }

    private mutating func add(_ op: String, _ inputs: [String], _ outputs: [String], _ attributes: [Onnx_AttributeProto] = [], suffix: String = "") {
        var n = Onnx_NodeProto()
        (n.opType, n.input, n.output, n.attribute) = (op, inputs, outputs, attributes)
        n.name = label.isEmpty ? op : label + suffix
        nodes.append(n)
    }

    @discardableResult
    private mutating func initializer(_ name: String, shape: [Int], _ values: [Float]) -> String {
        initializers.append(KnownTensor.proto(name: name, shape: shape, floats: values))
        return name
    }

    private mutating func integers(_ name: String, _ values: [Int]) -> String {
        initializers.append(KnownTensor.proto(name: name, integers: values))
        return name
    }

    private static func attribute(_ name: String, int: Int) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .int; a.i = Int64(int); return a
    }
    private static func attribute(_ name: String, ints: [Int]) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .ints; a.ints = ints.map { Int64($0) }; return a
    }
    private static func attribute(_ name: String, float: Float) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .float; a.f = float; return a
    }
    private static func attribute(_ name: String, string: String) -> Onnx_AttributeProto {
        var a = Onnx_AttributeProto(); a.name = name; a.type = .string; a.s = Data(string.utf8); return a
    }

    /// The name of value `v` as an operand: parameters become initializers when first used.
    private mutating func operand(_ v: Int) throws(ONNXError) -> String {
        let r = file.value(v)
        if r.role == .parameter, !initializers.contains(where: { $0.name == names[v] }) {
            initializer(names[v], shape: dims(v).isEmpty ? [1] : dims(v), try floats(v))
        }
        return names[v]
    }

    /// A parameter's values under a new name and shape (a per-channel vector as [C, 1, 1]).
    private mutating func reshapedParameter(_ v: Int, shape: [Int], suffix: String) throws(ONNXError) -> String {
        initializer(names[v] + suffix, shape: shape, try floats(v))
    }

    /// The second operand of an element-wise op, shaped so ONNX's broadcasting (aligned on the
    /// right) gives the runtime's: one number, a row over the last dimension, or a whole sample.
    private mutating func broadcastOperand(_ v: Int, against output: [Int]) throws(ONNXError) -> String {
        let r = file.value(v), count = r.count, whole = output.reduce(1, *)
        if r.role == .parameter {
            if count == 1 { return try reshapedParameter(v, shape: [1], suffix: "_scalar") }
            if count == whole { return dims(v) == output ? try operand(v) : try reshapedParameter(v, shape: output, suffix: "_sample") }
            if count == output.last { return dims(v) == [count] ? try operand(v) : try reshapedParameter(v, shape: [count], suffix: "_row") }
            throw fail("a parameter of \(count) values does not broadcast to \(output)")
        }
        let d = dims(v)
        if d == output { return names[v] }
        // Another shape of a sample's values is reshaped to the output's; a shorter value repeats
        // over the leading dimensions, as [N, 1, …, d] broadcasts.
        let target: [Int]
        if count == whole { target = output }
        else if count == 1 { target = [1] }
        else if d.last == output.last && d.count < output.count { target = [Int](repeating: 1, count: output.count - d.count) + d }
        else { throw fail("\(d) does not broadcast to \(output)") }
        let shaped = names[v] + "_expanded"
        let shape = integers(shaped + "_shape", [0] + target)
        add("Reshape", [names[v], shape], [shaped], suffix: "_expand")
        return shaped
    }

    mutating func model() throws(ONNXError) -> [UInt8] {
        for i in section.mainNodes {
            let node = file.node(i)
            label = String(cString: file.nodeName(i))
            if label.isEmpty { label = "\(node.op.name)_\(i)" }
            try convert(node)
        }
        label = ""
        var output = names[section.outputValue]
        var outputShape = dims(section.outputValue)
        if file.outputKind == .probabilities {
            if outputShape.count != 1 {
                let flat = integers("output_flat_shape", [0, outputShape.reduce(1, *)])
                add("Reshape", [output, flat], [output + "_flat"])
                output += "_flat"
                outputShape = [outputShape.reduce(1, *)]
            }
            add("Softmax", [output], ["probabilities"], [Self.attribute("axis", int: -1)])
            output = "probabilities"
        }
        var m = Onnx_ModelProto()
        m.irVersion = 8
        m.producerName = "infer export-tool"
        var o = Onnx_OperatorSetIdProto()
        o.version = Int64(opset)
        m.opsetImport = [o]
        m.graph.name = name
        m.graph.node = nodes
        m.graph.initializer = initializers
        let input = section.inputValue
        m.graph.input = [Self.valueInfo(names[input], dims(input), element: file.value(input).element == .int32 ? 6 : 1)]
        m.graph.output = [Self.valueInfo(output, outputShape, element: 1)]
        if let v = file.vocabularyTensor {
            // The bytes of token ids 0, 1, …, as hex ("0a20…"): a program feeding the ONNX model tokenizes with it.
            var entry = Onnx_StringStringEntryProto()
            entry.key = "infer.vocabulary"
            entry.value = UnsafeBufferPointer(start: file.floats(v), count: file.tensor(v).count)
                .map { String(format: "%02x", Int($0)) }.joined()
            m.metadataProps = [entry]
        }
        m.docString = file.inputEncoding == .pixels ? "input: pixels scaled to [0, 1]" : file.inputEncoding == .gaussianLatent ? "input: z ~ N(0, I)" : ""
        do { return [UInt8](try m.serializedData()) } catch { throw ONNXError("protobuf could not encode the model: \(error)") }
    }

    static func valueInfo(_ name: String, _ dims: [Int], element: Int32) -> Onnx_ValueInfoProto {
        var v = Onnx_ValueInfoProto()
        v.name = name
        var t = Onnx_TypeProto.Tensor()
        t.elemType = element
        var batch = Onnx_TensorShapeProto.Dimension()
        batch.dimParam = "N"
        t.shape.dim = [batch] + dims.map { d in var dim = Onnx_TensorShapeProto.Dimension(); dim.dimValue = Int64(d); return dim }
        v.type.tensorType = t
        return v
    }

    private mutating func convert(_ node: ModelFile.NodeRecord) throws(ONNXError) {
        let x = node.input(0), out = names[node.output(0)]
        let outShape = dims(node.output(0))
        switch node.op {
        case .dense:
            add("Gemm", [names[x], try operand(node.input(1)), try operand(node.input(2))], [out])
        case .relu, .elu, .sigmoid, .tanh, .exp, .neg, .log:
            let op: [GraphFormat.Op: String] = [.relu: "Relu", .elu: "Elu", .sigmoid: "Sigmoid", .tanh: "Tanh", .exp: "Exp", .neg: "Neg", .log: "Log"]
            add(op[node.op]!, [names[x]], [out])
        case .gelu:
            opset = max(opset, 20)
            add("Gelu", [names[x]], [out])
        case .square:
            add("Mul", [names[x], names[x]], [out])
        case .add, .sub, .mul:
            let op = node.op == .add ? "Add" : node.op == .sub ? "Sub" : "Mul"
            let first = try broadcastOperand(node.input(0), against: outShape), second = try broadcastOperand(node.input(1), against: outShape)
            add(op, [first, second], [out])
        case .matmul:
            let b = node.input(1)
            guard file.value(b).role == .parameter else { throw fail("a product of two computed values has no ONNX export here") }
            if file.argument(node, "transposeB").map({ $0.int(0) }) == 1 {
                let d = dims(b), values = try floats(b)
                var t = [Float](repeating: 0, count: values.count)
                for i in 0..<d[0] { for j in 0..<d[1] { t[j * d[0] + i] = values[i * d[1] + j] } }
                add("MatMul", [names[x], initializer(names[b] + "_t", shape: [d[1], d[0]], t)], [out])
            } else {
                add("MatMul", [names[x], try operand(b)], [out])
            }
        case .conv2d:
            let g = try geometry(node)
            let w = dims(node.input(1)), input = dims(x)
            let (kh, kw) = (w[2], w[3])
            // ONNX pads all four sides; the file gives top and left, the output size implies the rest.
            var bottom = (g.oh - 1) * g.sy + kh - input[1] - g.top, right = (g.ow - 1) * g.sx + kw - input[2] - g.left
            bottom = max(bottom, 0); right = max(right, 0)
            guard (input[1] + g.top + bottom - kh) / g.sy + 1 == g.oh, (input[2] + g.left + right - kw) / g.sx + 1 == g.ow else {
                throw fail("a convolution that leaves input rows or columns unused has no ONNX export here")
            }
            let relu = file.argument(node, "relu").map { $0.int(0) } == 1
            let attributes = [Self.attribute("kernel_shape", ints: [kh, kw]), Self.attribute("strides", ints: [g.sy, g.sx]),
                              Self.attribute("pads", ints: [g.top, g.left, bottom, right])]
            add("Conv", [names[x], try operand(node.input(1)), try operand(node.input(2))], [relu ? out + "_conv" : out], attributes)
            if relu { add("Relu", [out + "_conv"], [out], suffix: "_relu") }
        case .maxPool2d, .avgPool2d:
            guard let w = file.argument(node, "window") else { throw fail("no window") }
            add(node.op == .maxPool2d ? "MaxPool" : "AveragePool", [names[x]], [out],
                [Self.attribute("kernel_shape", ints: [w.int(0), w.int(1)]), Self.attribute("strides", ints: [w.int(2), w.int(3)])])
        case .channelAffine, .addPerChannel:
            let channels = dims(x)[0], spread = [channels] + [Int](repeating: 1, count: dims(x).count - 1)
            if node.op == .addPerChannel {
                add("Add", [names[x], try reshapedParameter(node.input(1), shape: spread, suffix: "_c")], [out])
            } else {
                add("Mul", [names[x], try reshapedParameter(node.input(1), shape: spread, suffix: "_c")], [out + "_scaled"], suffix: "_scale")
                add("Add", [out + "_scaled", try reshapedParameter(node.input(2), shape: spread, suffix: "_c")], [out], suffix: "_shift")
            }
        case .reshape:
            add("Reshape", [names[x], integers(out + "_shape", [0] + outShape)], [out])
        case .transpose:
            add("Transpose", [names[x]], [out], [Self.attribute("perm", ints: [0, 2, 1])])
        case .concat:
            add("Concat", [names[x], names[node.input(1)]], [out], [Self.attribute("axis", int: 1)])
        case .layerNorm:
            let epsilon = file.argument(node, "epsilon").map { $0.float(0) } ?? 1e-5
            add("LayerNormalization", [names[x], try operand(node.input(1)), try operand(node.input(2))], [out],
                [Self.attribute("axis", int: -1), Self.attribute("epsilon", float: epsilon)])
        case .embedding:
            add("Gather", [try operand(node.input(1)), names[x]], [out], [Self.attribute("axis", int: 0)])
        case .attention:
            opset = max(opset, 23)
            guard let heads = file.argument(node, "heads")?.int(0) else { throw fail("no heads") }
            let causal = file.argument(node, "causal").map { $0.int(0) } ?? 0
            add("Attention", [names[x], names[node.input(1)], names[node.input(2)]], [out],
                [Self.attribute("q_num_heads", int: heads), Self.attribute("kv_num_heads", int: heads), Self.attribute("is_causal", int: causal)])
        case .slice:
            guard let c = file.argument(node, "columns") else { throw fail("no columns") }
            add("Slice", [names[x], integers(out + "_starts", [c.int(0)]), integers(out + "_ends", [c.int(0) + c.int(1)]),
                          integers(out + "_axes", [-1])], [out])
        case .sum:
            let rank = dims(x).count
            add("ReduceSum", [names[x], integers(out + "_axes", Array(1...max(rank, 1)))], [out + "_sum"], [Self.attribute("keepdims", int: 0)])
            add("Reshape", [out + "_sum", integers(out + "_shape", [0] + (outShape.isEmpty ? [1] : outShape))], [out], suffix: "_shape")
        case .upsample2d:
            guard let f = file.argument(node, "factor")?.int(0) else { throw fail("no factor") }
            add("Resize", [names[x], "", initializer(out + "_scales", shape: [4], [1, 1, Float(f), Float(f)])], [out],
                [Self.attribute("mode", string: "nearest"), Self.attribute("coordinate_transformation_mode", string: "asymmetric"),
                 Self.attribute("nearest_mode", string: "floor")])
        case .kernel, .pairwiseVote, .nearestNeighbours:
            throw fail("the classic models' \(node.op.name) op has no ONNX export here")
        }
    }

    private func geometry(_ node: ModelFile.NodeRecord) throws(ONNXError) -> (sy: Int, sx: Int, top: Int, left: Int, oh: Int, ow: Int) {
        guard let g = file.argument(node, "geometry"), g.count == 6 else { throw fail("no geometry") }
        return (g.int(0), g.int(1), g.int(2), g.int(3), g.int(4), g.int(5))
    }
}
