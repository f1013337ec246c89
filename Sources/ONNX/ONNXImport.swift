import Foundation
import Graph
import ModelFile
import SwiftProtobuf
import Training

/// ONNX → model file: an ONNX graph whose ops the runtime has, rebuilt as the project's own graph
/// (weights from the initializers and Constant nodes) and written as a version-2 model file.
///
/// Only exact conversions: an op, attribute or opset the runtime cannot run as ONNX defines it is
/// refused with a message naming the node, never imported as an approximation. The rewrites made
/// are exact up to float rounding and are documented: BatchNormalization becomes the per-channel
/// scale and shift it computes; Gemm's alpha and beta are folded into its weights; x − c becomes
/// x + (−c) and x ÷ c becomes x · (1/c); a final Softmax over the classes becomes the file's
/// "probabilities" output.
public enum ONNXImport {
    /// The opsets of the standard domain whose op definitions the importer follows (Softmax's axis
    /// as of 13, Attention as of 23).
    public static let opsets: ClosedRange<Int> = 13...25

    public struct Options {
        /// The input's channels × height × width, when the ONNX input's shape is not already that
        /// (an MLP's 784 floats read as a 1×28×28 image, for PNG classification).
        public var inputShape: (channels: Int, height: Int, width: Int)?
        /// `.pixels` for images in [0, 1] (what PNG classification feeds); default: pixels for a
        /// one-channel image input, floats otherwise.
        public var inputEncoding: ModelFormat.InputEncoding?
        /// A sequence model's vocabulary (token i is byte vocabulary[i]), for a graph whose input is
        /// token ids: the C interface's sequence calls tokenize and decode with it.
        public var vocabulary: [UInt8]?
        public init(inputShape: (channels: Int, height: Int, width: Int)? = nil, inputEncoding: ModelFormat.InputEncoding? = nil,
                    vocabulary: [UInt8]? = nil) {
            (self.inputShape, self.inputEncoding, self.vocabulary) = (inputShape, inputEncoding, vocabulary)
        }
    }

    /// What was imported: the model file and a line on what it holds.
    public struct Result {
        public let modelFile: [UInt8]
        public let summary: String
    }

    /// Reads the ONNX file's bytes and writes the model file.
    public static func convert(_ bytes: [UInt8], options: Options = Options()) throws(ONNXError) -> Result {
        let model: Onnx_ModelProto
        do { model = try Onnx_ModelProto(serializedBytes: bytes) } catch {
            throw ONNXError("not a readable ONNX file (protobuf: \(error))")
        }
        guard model.hasGraph else { throw ONNXError("the ONNX file holds no graph") }
        var opset: Int?
        for o in model.opsetImport where o.domain.isEmpty || o.domain == "ai.onnx" { opset = Int(o.version) }
        guard let opset else { throw ONNXError("the ONNX file imports no version of the standard operator set (ai.onnx)") }
        guard opsets.contains(opset) else {
            throw ONNXError("opset \(opset) of ai.onnx is not supported: the importer follows opsets \(opsets.lowerBound) to \(opsets.upperBound) (re-export with one of those, e.g. torch.onnx.export(..., opset_version=17))")
        }
        let importer = try GraphImporter(model.graph, opset: opset)
        try importer.convertNodes()
        return try importer.write(options: options)
    }
}

/// The conversion of one ONNX graph. ONNX tensors carry the batch as their first dimension; the
/// project's values are per sample, so a computed tensor of ONNX shape [N, d1, …] is a value of
/// shape [d1, …], and axes are shifted by one.
final class GraphImporter {
    let graph: Onnx_GraphProto
    let opset: Int
    private let builder = GraphBuilder()
    /// Tensors whose values are known: initializers and Constant nodes, and what is folded from them.
    private var known: [String: KnownTensor] = [:]
    /// Tensors computed from the input.
    private var computed: [String: ValueID] = [:]
    private var weights: TensorValues = [:]
    private var outputKind: ModelFormat.OutputKind = .values
    private var usedNames = Set<String>()
    /// Names read by some node or as the graph's output.
    private var consumed = Set<String>()
    private let inputName: String
    /// The input is token ids (int64 or int32 in the ONNX file, int32 in the model file).
    private let takesTokens: Bool
    /// "node 'fc1' (Gemm)", for messages.
    private var label = ""
    private var ops: [String: Int] = [:]

    init(_ graph: Onnx_GraphProto, opset: Int) throws(ONNXError) {
        self.graph = graph
        self.opset = opset
        var initializers: [String: KnownTensor] = [:]
        for t in graph.initializer { initializers[t.name] = try KnownTensor(t, what: "initializer '\(t.name)'") }
        let inputs = graph.input.filter { initializers[$0.name] == nil }
        guard inputs.count == 1, let input = inputs.first else {
            throw ONNXError("a model file has one input; this graph has \(inputs.count) (\(inputs.map(\.name).joined(separator: ", ")))")
        }
        guard graph.output.count == 1 else {
            throw ONNXError("a model file has one output; this graph has \(graph.output.count) (\(graph.output.map(\.name).joined(separator: ", ")))")
        }
        inputName = input.name
        known = initializers
        guard case .tensorType(let type)? = input.type.value else { throw ONNXError("the input '\(input.name)' is not a tensor") }
        let integers = [Onnx_TensorProto.DataType.int64, .int32].map { Int32($0.rawValue) }
        guard type.elemType == Int32(Onnx_TensorProto.DataType.float.rawValue) || integers.contains(type.elemType) else {
            throw ONNXError("the input '\(input.name)' has element type \(type.elemType); the importer takes floats (1) or token ids (int64 7, int32 6)")
        }
        takesTokens = integers.contains(type.elemType)
        let dims = type.shape.dim
        guard dims.count >= 2 else {
            throw ONNXError("the input '\(input.name)' has rank \(dims.count); the importer expects a batch dimension first, then the sample's")
        }
        if case .dimValue(let n)? = dims[0].value, n != 1 {
            throw ONNXError("the input '\(input.name)' has a fixed batch of \(n); export with batch 1 or a symbolic batch dimension")
        }
        var shape: [Int] = []
        for d in dims.dropFirst() {
            guard case .dimValue(let n)? = d.value, n > 0 else {
                throw ONNXError("the input '\(input.name)' has a dimension without a fixed size after the batch; every per-sample dimension must be known")
            }
            shape.append(Int(n))
        }
        guard shape.count <= 4 else { throw ONNXError("the input '\(input.name)' has \(shape.count) dimensions per sample; a model file takes up to 4") }
        guard !takesTokens || shape.count == 1 else { throw ONNXError("the token input '\(input.name)' must be [N, T]; it is \(shape) per sample") }
        computed[input.name] = builder.input(shortName(input.name), shape: shape, element: takesTokens ? .int32 : .float32)
        for node in graph.node { consumed.formUnion(node.input) }
        consumed.insert(graph.output[0].name)
    }

    // MARK: - Helpers

    private func fail(_ message: String) -> ONNXError { ONNXError("\(label): \(message)") }

    /// A name fit for the file (ASCII, under 48 bytes), unique in the graph.
    private func shortName(_ name: String, suffix: String = "") -> String {
        let cleaned = String(name.unicodeScalars.map { $0.isASCII && (CharacterSet.alphanumerics.contains($0) || "._-".unicodeScalars.contains($0)) ? Character($0) : "_" })
        var base = String((cleaned.isEmpty ? "v" : cleaned).suffix(38)) + suffix
        var n = 1
        while usedNames.contains(base) { base = String(cleaned.suffix(34)) + suffix + "_\(n)"; n += 1 }
        usedNames.insert(base)
        return base
    }

    private func parameter(_ name: String, shape: [Int], _ floats: [Float]) -> ValueID {
        let id = builder.parameter(shortName(name), shape: shape)
        weights[id.index] = floats
        return id
    }

    private func shape(_ id: ValueID) -> [Int] { builder.type(of: id).shape }

    private func computedInput(_ node: Onnx_NodeProto, _ i: Int) throws(ONNXError) -> ValueID {
        guard i < node.input.count, !node.input[i].isEmpty else { throw fail("input \(i) is missing") }
        if let id = computed[node.input[i]] { return id }
        if known[node.input[i]] != nil { throw fail("input \(i) ('\(node.input[i])') is a constant here; the runtime needs it computed from the model's input") }
        throw fail("input '\(node.input[i])' is produced by no earlier node")
    }

    private func knownInput(_ node: Onnx_NodeProto, _ i: Int, what: String) throws(ONNXError) -> KnownTensor {
        guard i < node.input.count, !node.input[i].isEmpty else { throw fail("the \(what) (input \(i)) is missing") }
        guard let t = known[node.input[i]] else {
            throw fail("the \(what) ('\(node.input[i])') must be an initializer or a constant; it is computed in the graph")
        }
        return t
    }

    private func optionalKnown(_ node: Onnx_NodeProto, _ i: Int, what: String) throws(ONNXError) -> KnownTensor? {
        guard i < node.input.count, !node.input[i].isEmpty else { return nil }
        return try knownInput(node, i, what: what)
    }

    private func attribute(_ node: Onnx_NodeProto, _ name: String) -> Onnx_AttributeProto? { node.attribute.first { $0.name == name } }
    private func int(_ node: Onnx_NodeProto, _ name: String, _ fallback: Int) -> Int { attribute(node, name).map { Int($0.i) } ?? fallback }
    private func float(_ node: Onnx_NodeProto, _ name: String, _ fallback: Float) -> Float { attribute(node, name).map(\.f) ?? fallback }
    private func ints(_ node: Onnx_NodeProto, _ name: String) -> [Int]? { attribute(node, name).map { $0.ints.map { Int($0) } } }
    private func string(_ node: Onnx_NodeProto, _ name: String, _ fallback: String) -> String {
        attribute(node, name).map { String(decoding: $0.s, as: UTF8.self) } ?? fallback
    }

    /// Refuses attributes the conversion does not handle (so none is silently ignored).
    private func only(_ node: Onnx_NodeProto, _ allowed: Set<String>) throws(ONNXError) {
        if let a = node.attribute.first(where: { !allowed.contains($0.name) }) {
            throw fail("attribute '\(a.name)' is not supported" + (allowed.isEmpty ? "" : " (supported: \(allowed.sorted().joined(separator: ", ")))"))
        }
    }

    /// Outputs after the first must be unused (MaxPool's indices, LayerNormalization's statistics).
    private func onlyFirstOutputUsed(_ node: Onnx_NodeProto) throws(ONNXError) {
        for o in node.output.dropFirst() where !o.isEmpty && consumed.contains(o) {
            throw fail("output '\(o)' is used, but only the first output of this op can be imported")
        }
    }

    private func apply(_ op: OpKind, _ inputs: [ValueID], _ attributes: Attributes = Attributes(), _ node: Onnx_NodeProto) throws(ONNXError) -> ValueID {
        do {
            return try builder.apply(op, inputs, attributes: attributes, name: shortName(node.name.isEmpty ? node.opType : node.name))[0]
        } catch { throw fail("\(error)") }
    }

    private func normalisedAxis(_ axis: Int, rank: Int) throws(ONNXError) -> Int {
        let a = axis < 0 ? axis + rank : axis
        guard (0..<rank).contains(a) else { throw fail("axis \(axis) is outside a tensor of rank \(rank)") }
        return a
    }

    // MARK: - Conversion

    func convertNodes() throws(ONNXError) {
        for (index, node) in graph.node.enumerated() {
            label = "node '\(node.name.isEmpty ? "#\(index)" : node.name)' (\(node.opType))"
            guard node.domain.isEmpty || node.domain == "ai.onnx" else {
                throw fail("operators of the domain '\(node.domain)' are not supported (only the standard ai.onnx set)")
            }
            try convert(node)
            ops[node.opType, default: 0] += 1
        }
    }

    private func alias(_ node: Onnx_NodeProto, _ source: String) throws(ONNXError) {
        if let id = computed[source] { computed[node.output[0]] = id }
        else if let t = known[source] { known[node.output[0]] = t }
        else { throw fail("input '\(source)' is produced by no earlier node") }
    }

    private func convert(_ node: Onnx_NodeProto) throws(ONNXError) {
        guard let out = node.output.first, !out.isEmpty else { throw fail("the node has no output") }
        switch node.opType {
        case "Identity":
            try only(node, [])
            try alias(node, node.input.first ?? "")
        case "Dropout":
            // Inference: the identity (its mask output must be unused).
            try only(node, ["seed"])
            try onlyFirstOutputUsed(node)
            try alias(node, node.input.first ?? "")
        case "Constant":
            known[out] = try constant(node)
        case "Relu", "Sigmoid", "Tanh", "Exp", "Log", "Neg":
            try only(node, [])
            let op: OpKind = ["Relu": .relu, "Sigmoid": .sigmoid, "Tanh": .tanh, "Exp": .exp, "Log": .log, "Neg": .neg][node.opType]!
            computed[out] = try apply(op, [computedInput(node, 0)], Attributes(), node)
        case "Elu":
            try only(node, ["alpha"])
            guard float(node, "alpha", 1) == 1 else { throw fail("alpha \(float(node, "alpha", 1)): the runtime's ELU has alpha 1") }
            computed[out] = try apply(.elu, [computedInput(node, 0)], Attributes(), node)
        case "Gelu":
            try only(node, ["approximate"])
            guard string(node, "approximate", "none") == "none" else {
                throw fail("approximate='\(string(node, "approximate", "none"))': the runtime's GELU is the exact erf form (approximate='none')")
            }
            computed[out] = try apply(.gelu, [computedInput(node, 0)], Attributes(), node)
        case "Add", "Sub", "Mul", "Div":
            try only(node, [])
            try binary(node, out)
        case "Gemm":
            try gemm(node, out)
        case "MatMul":
            try only(node, [])
            let x = try computedInput(node, 0)
            let b = try knownInput(node, 1, what: "second factor")
            guard b.shape.count == 2, shape(x).last == b.shape[0] else {
                throw fail("MatMul of \(shape(x)) per sample by \(b.shape) is not supported (a constant [k, n] matrix whose k is the input's last dimension)")
            }
            computed[out] = try apply(.matmul, [x, parameter(out + ".w", shape: b.shape, b.floats)], Attributes(), node)
        case "Conv":
            try conv(node, out)
        case "MaxPool", "AveragePool":
            try pool(node, out)
        case "GlobalAveragePool", "GlobalMaxPool":
            try only(node, [])
            let x = try computedInput(node, 0), s = shape(x)
            guard s.count == 3 else { throw fail("needs an input of [N, C, H, W]; it has \(s) per sample") }
            let window = Attributes(["window": .ints([s[1], s[2], s[1], s[2]])])
            computed[out] = try apply(node.opType == "GlobalAveragePool" ? .avgPool2d : .maxPool2d, [x], window, node)
        case "Flatten":
            try only(node, ["axis"])
            let x = try computedInput(node, 0), s = shape(x)
            guard try normalisedAxis(int(node, "axis", 1), rank: s.count + 1) == 1 else {
                throw fail("only axis 1 (keep the batch, flatten each sample) is supported")
            }
            computed[out] = s.count == 1 ? x : try apply(.reshape, [x], Attributes(["shape": .ints([s.reduce(1, *)])]), node)
        case "Reshape":
            try reshape(node, out)
        case "Transpose":
            try only(node, ["perm"])
            let x = try computedInput(node, 0), s = shape(x)
            let perm = ints(node, "perm") ?? Array((0...s.count).reversed())
            guard perm.first == 0 else { throw fail("perm \(perm) moves the batch dimension") }
            if perm == Array(0...s.count) { computed[out] = x }
            else if s.count == 2 && perm == [0, 2, 1] { computed[out] = try apply(.transpose, [x], Attributes(), node) }
            else { throw fail("perm \(perm) is not supported (the runtime transposes a sample's two dimensions: perm [0, 2, 1])") }
        case "Concat":
            try only(node, ["axis"])
            var joined = try computedInput(node, 0)
            guard try normalisedAxis(int(node, "axis", 1), rank: shape(joined).count + 1) == 1 else {
                throw fail("only axis 1 (a sample's first dimension: channels or features) is supported")
            }
            for i in 1..<max(node.input.count, 1) { joined = try apply(.concat, [joined, computedInput(node, i)], Attributes(), node) }
            computed[out] = joined
        case "BatchNormalization":
            try batchNorm(node, out)
        case "LayerNormalization":
            try layerNorm(node, out)
        case "Softmax":
            try softmax(node, out)
        case "Attention":
            try attention(node, out)
        case "Gather":
            try only(node, ["axis"])
            let table = try knownInput(node, 0, what: "embedding table")
            let ids = try computedInput(node, 1)
            guard takesTokens, ids == computed[inputName], int(node, "axis", 0) == 0, table.shape.count == 2 else {
                throw fail("only an embedding is supported: rows (axis 0) of a constant [V, D] table picked by the model's token ids")
            }
            computed[out] = try apply(.embedding, [ids, parameter(out + ".table", shape: table.shape, table.floats)], Attributes(), node)
        case "Slice":
            try slice(node, out)
        default:
            throw fail("the op \(node.opType) is not supported by the importer (supported: Add, Attention, AveragePool, BatchNormalization, Concat, Constant, Conv, Div, Dropout, Elu, Exp, Flatten, Gather, Gelu, Gemm, GlobalAveragePool, GlobalMaxPool, Identity, LayerNormalization, Log, MatMul, MaxPool, Mul, Neg, Relu, Reshape, Sigmoid, Slice, Softmax, Sub, Tanh, Transpose)")
        }
    }

    private func constant(_ node: Onnx_NodeProto) throws(ONNXError) -> KnownTensor {
        guard node.attribute.count == 1, let a = node.attribute.first else { throw fail("needs exactly one value attribute") }
        switch a.name {
        case "value": return try KnownTensor(a.t, what: label)
        case "value_float": return KnownTensor(shape: [], floats: [a.f])
        case "value_floats": return KnownTensor(shape: [a.floats.count], floats: a.floats)
        case "value_int": return KnownTensor(shape: [], floats: [Float(a.i)], integers: [Int(a.i)])
        case "value_ints": return KnownTensor(shape: [a.ints.count], floats: a.ints.map { Float($0) }, integers: a.ints.map { Int($0) })
        default: throw fail("attribute '\(a.name)' is not supported (value, value_float, value_floats, value_int, value_ints)")
        }
    }

    /// `c`'s values spread over a sample of shape `sample` by ONNX's broadcasting (the batch
    /// dimension, if `c` has one, must be 1), or nil when they do not broadcast.
    private func broadcast(_ c: KnownTensor, to sample: [Int]) -> [Float]? {
        let full = [1] + sample
        guard c.shape.count <= full.count else { return nil }
        let aligned = [Int](repeating: 1, count: full.count - c.shape.count) + c.shape
        guard zip(aligned, full).allSatisfy({ $0 == 1 || $0 == $1 }) else { return nil }
        var strides = [Int](repeating: 0, count: full.count), stride = 1
        for d in (0..<full.count).reversed() { strides[d] = aligned[d] == 1 ? 0 : stride; stride *= aligned[d] }
        let count = sample.reduce(1, *)
        var result = [Float](repeating: 0, count: count)
        var index = [Int](repeating: 0, count: sample.count)
        for i in 0..<count {
            var source = 0
            for d in 0..<sample.count { source += index[d] * strides[d + 1] }
            result[i] = c.floats[source]
            var d = sample.count - 1
            while d >= 0 { index[d] += 1; if index[d] < sample[d] { break }; index[d] = 0; d -= 1 }
        }
        return result
    }

    /// x + c or x · c for a computed x and a known c, in the form the runtime has for c's shape:
    /// one number, one row over the last dimension, one number per channel, or a whole sample.
    private func combine(_ x: ValueID, _ c: KnownTensor, multiply: Bool, _ node: Onnx_NodeProto, _ out: String) throws(ONNXError) -> ValueID {
        let s = shape(x)
        guard let full = broadcast(c, to: s) else { throw fail("a constant of shape \(c.shape) does not broadcast to \([1] + s)") }
        let op: OpKind = multiply ? .mul : .add
        var core = c.shape
        while core.first == 1 && core.count > 0 { core.removeFirst() }
        if c.count == 1 {
            return try apply(op, [x, parameter(out + ".c", shape: [], [c.floats[0]])], Attributes(), node)
        }
        if core == [s.last!] {
            return try apply(op, [x, parameter(out + ".c", shape: core, c.floats)], Attributes(), node)
        }
        if s.count >= 2, core.count == s.count, core[0] == s[0], core.dropFirst().allSatisfy({ $0 == 1 }) {
            let perChannel = parameter(out + ".c", shape: [s[0]], c.floats)
            if !multiply { return try apply(.addPerChannel, [x, perChannel], Attributes(), node) }
            let zero = parameter(out + ".shift", shape: [s[0]], [Float](repeating: 0, count: s[0]))
            return try apply(.channelAffine, [x, perChannel, zero], Attributes(), node)
        }
        return try apply(op, [x, parameter(out + ".c", shape: s, full)], Attributes(), node)
    }

    private func binary(_ node: Onnx_NodeProto, _ out: String) throws(ONNXError) {
        guard node.input.count == 2 else { throw fail("needs two inputs") }
        let (a, b) = (node.input[0], node.input[1])
        switch (known[a], known[b]) {
        case (nil, nil):
            let x = try computedInput(node, 0), y = try computedInput(node, 1)
            guard node.opType != "Div" else { throw fail("division of two computed tensors has no op in the runtime (only division by a constant)") }
            let op: OpKind = ["Add": .add, "Sub": .sub, "Mul": .mul][node.opType]!
            computed[out] = try apply(op, [x, y], Attributes(), node)
        case (nil, let c?):
            let x = try computedInput(node, 0)
            switch node.opType {
            case "Add": computed[out] = try combine(x, c, multiply: false, node, out)
            case "Mul": computed[out] = try combine(x, c, multiply: true, node, out)
            case "Sub": computed[out] = try combine(x, KnownTensor(shape: c.shape, floats: c.floats.map { -$0 }), multiply: false, node, out)
            default:
                let reciprocal = c.floats.map { Float(1 / Double($0)) }
                computed[out] = try combine(x, KnownTensor(shape: c.shape, floats: reciprocal), multiply: true, node, out)
            }
        case (let c?, nil):
            let x = try computedInput(node, 1)
            switch node.opType {
            case "Add": computed[out] = try combine(x, c, multiply: false, node, out)
            case "Mul": computed[out] = try combine(x, c, multiply: true, node, out)
            case "Sub": computed[out] = try combine(apply(.neg, [x], Attributes(), node), c, multiply: false, node, out)
            default: throw fail("a constant divided by a computed tensor has no op in the runtime")
            }
        case (let c?, let d?):
            // Both known: folded here (same shapes, or one of them a single number).
            guard c.shape == d.shape || c.count == 1 || d.count == 1 else {
                throw fail("constants of shapes \(c.shape) and \(d.shape) are not folded (only equal shapes or a single number)")
            }
            let n = max(c.count, d.count), shape = c.count >= d.count ? c.shape : d.shape
            let opType = node.opType
            func f(_ p: Float, _ q: Float) -> Float {
                switch opType { case "Add": p + q; case "Sub": p - q; case "Mul": p * q; default: p / q }
            }
            let values = (0..<n).map { i in f(c.floats[c.count == 1 ? 0 : i], d.floats[d.count == 1 ? 0 : i]) }
            let integers: [Int]? = c.integers != nil && d.integers != nil && node.opType != "Div" ? values.map { Int($0) } : nil
            known[out] = KnownTensor(shape: shape, floats: values, integers: integers)
        }
    }

    private func gemm(_ node: Onnx_NodeProto, _ out: String) throws(ONNXError) {
        try only(node, ["alpha", "beta", "transA", "transB"])
        let x = try computedInput(node, 0)
        guard int(node, "transA", 0) == 0 else { throw fail("transA = 1 would transpose the batch; not supported") }
        guard shape(x).count == 1, let k = shape(x).first else { throw fail("needs A of shape [N, k]; it has \(shape(x)) per sample") }
        let b = try knownInput(node, 1, what: "weight B")
        let transposed = int(node, "transB", 0) == 1
        guard b.shape.count == 2, (transposed ? b.shape[1] : b.shape[0]) == k else {
            throw fail("B of shape \(b.shape)\(transposed ? " (transB)" : "") does not take \(k) inputs")
        }
        let n = transposed ? b.shape[0] : b.shape[1]
        let alpha = float(node, "alpha", 1), beta = float(node, "beta", 1)
        var w = [Float](repeating: 0, count: k * n)
        for i in 0..<k { for j in 0..<n { w[i * n + j] = alpha * (transposed ? b.floats[j * k + i] : b.floats[i * n + j]) } }
        var bias = [Float](repeating: 0, count: n)
        if let c = try optionalKnown(node, 2, what: "bias C") {
            guard let spread = broadcast(c, to: [n]) else { throw fail("bias C of shape \(c.shape) does not broadcast to [N, \(n)]") }
            bias = spread.map { beta * $0 }
        }
        computed[out] = try apply(.dense, [x, parameter(out + ".w", shape: [k, n], w), parameter(out + ".b", shape: [n], bias)], Attributes(), node)
    }

    private func conv(_ node: Onnx_NodeProto, _ out: String) throws(ONNXError) {
        try only(node, ["auto_pad", "dilations", "group", "kernel_shape", "pads", "strides"])
        let x = try computedInput(node, 0), s = shape(x)
        guard s.count == 3 else { throw fail("2-D convolution of [N, C, H, W] only; the input is \(s) per sample") }
        let w = try knownInput(node, 1, what: "weight W")
        guard w.shape.count == 4, w.shape[1] == s[0] else { throw fail("weight of shape \(w.shape) does not fit \(s[0]) input channels") }
        guard int(node, "group", 1) == 1 else { throw fail("group = \(int(node, "group", 1)): grouped convolution is not supported") }
        guard (ints(node, "dilations") ?? [1, 1]).allSatisfy({ $0 == 1 }) else { throw fail("dilations other than 1 are not supported") }
        let (kh, kw) = (w.shape[2], w.shape[3])
        if let k = ints(node, "kernel_shape"), k != [kh, kw] { throw fail("kernel_shape \(k) disagrees with the weight's \([kh, kw])") }
        let strides = ints(node, "strides") ?? [1, 1]
        guard strides.count == 2, strides.allSatisfy({ $0 > 0 }) else { throw fail("strides \(strides)") }
        let (sy, sx) = (strides[0], strides[1])
        var pads = ints(node, "pads") ?? [0, 0, 0, 0]
        switch string(node, "auto_pad", "NOTSET") {
        case "NOTSET": break
        case "VALID": pads = [0, 0, 0, 0]
        case let mode where mode == "SAME_UPPER" || mode == "SAME_LOWER":
            let oh = (s[1] + sy - 1) / sy, ow = (s[2] + sx - 1) / sx
            let th = max(0, (oh - 1) * sy + kh - s[1]), tw = max(0, (ow - 1) * sx + kw - s[2])
            let upper = mode == "SAME_UPPER"
            pads = [upper ? th / 2 : th - th / 2, upper ? tw / 2 : tw - tw / 2, upper ? th - th / 2 : th / 2, upper ? tw - tw / 2 : tw / 2]
        case let mode: throw fail("auto_pad '\(mode)' is not supported")
        }
        guard pads.count == 4, pads.allSatisfy({ $0 >= 0 }) else { throw fail("pads \(pads)") }
        let oh = (s[1] + pads[0] + pads[2] - kh) / sy + 1, ow = (s[2] + pads[1] + pads[3] - kw) / sx + 1
        guard oh > 0, ow > 0 else { throw fail("the kernel \(kh)×\(kw) does not fit the padded input") }
        let filters = w.shape[0]
        let bias = try optionalKnown(node, 2, what: "bias B")?.floats ?? [Float](repeating: 0, count: filters)
        guard bias.count == filters else { throw fail("bias of \(bias.count) values for \(filters) filters") }
        let geometry = Attributes(["geometry": .ints([sy, sx, pads[0], pads[1], oh, ow])])
        computed[out] = try apply(.conv2d, [x, parameter(out + ".w", shape: w.shape, w.floats), parameter(out + ".b", shape: [filters], bias)], geometry, node)
    }

    private func pool(_ node: Onnx_NodeProto, _ out: String) throws(ONNXError) {
        try only(node, ["auto_pad", "ceil_mode", "count_include_pad", "dilations", "kernel_shape", "pads", "storage_order", "strides"])
        try onlyFirstOutputUsed(node)
        let x = try computedInput(node, 0), s = shape(x)
        guard s.count == 3 else { throw fail("2-D pooling of [N, C, H, W] only; the input is \(s) per sample") }
        guard let k = ints(node, "kernel_shape"), k.count == 2, k.allSatisfy({ $0 > 0 }) else { throw fail("needs kernel_shape of two sizes") }
        let strides = ints(node, "strides") ?? [1, 1]
        guard strides.count == 2, strides.allSatisfy({ $0 > 0 }) else { throw fail("strides \(strides)") }
        guard (ints(node, "pads") ?? [0, 0, 0, 0]).allSatisfy({ $0 == 0 }), ["NOTSET", "VALID"].contains(string(node, "auto_pad", "NOTSET")) else {
            throw fail("padded pooling is not supported (the runtime pools without padding)")
        }
        guard (ints(node, "dilations") ?? [1, 1]).allSatisfy({ $0 == 1 }) else { throw fail("dilations other than 1 are not supported") }
        // ceil_mode changes the result only when a window would hang over the edge.
        if int(node, "ceil_mode", 0) == 1 && ((s[1] - k[0]) % strides[0] != 0 || (s[2] - k[1]) % strides[1] != 0) {
            throw fail("ceil_mode = 1 with windows over the edge is not supported")
        }
        guard s[1] >= k[0], s[2] >= k[1] else { throw fail("the window \(k) is larger than the input \(s[1])×\(s[2])") }
        let window = Attributes(["window": .ints([k[0], k[1], strides[0], strides[1]])])
        computed[out] = try apply(node.opType == "MaxPool" ? .maxPool2d : .avgPool2d, [x], window, node)
    }

    private func reshape(_ node: Onnx_NodeProto, _ out: String) throws(ONNXError) {
        try only(node, ["allowzero"])
        let target = try knownInput(node, 1, what: "shape")
        guard let wanted = target.integers else { throw fail("the shape must be integers") }
        let source: [Int], x: ValueID?
        if let t = known[node.input[0]] { (source, x) = (t.shape, nil) } else { let v = try computedInput(node, 0); (source, x) = ([1] + shape(v), v) }
        var resolved = wanted
        for (i, d) in wanted.enumerated() where d == 0 {
            guard int(node, "allowzero", 0) == 0 else { throw fail("allowzero = 1 with a zero in the shape is not supported") }
            guard i < source.count else { throw fail("shape \(wanted): no dimension \(i) to copy") }
            resolved[i] = source[i]
        }
        let total = source.reduce(1, *)
        if let free = resolved.firstIndex(of: -1) {
            let rest = resolved.enumerated().filter { $0.offset != free }.map(\.element).reduce(1, *)
            guard rest > 0, total % rest == 0 else { throw fail("shape \(wanted) does not fit \(total) values") }
            resolved[free] = total / rest
        }
        guard resolved.allSatisfy({ $0 > 0 }), resolved.reduce(1, *) == total else { throw fail("shape \(wanted) does not fit \(total) values") }
        guard let x else { known[out] = KnownTensor(shape: resolved, floats: known[node.input[0]]!.floats, integers: known[node.input[0]]!.integers); return }
        guard resolved.first == 1 else { throw fail("shape \(wanted) would change the batch (the first dimension must stay the batch)") }
        let sample = Array(resolved.dropFirst())
        guard !sample.isEmpty, sample.count <= 4 else { throw fail("a sample of \(sample.count) dimensions is not supported (1 to 4)") }
        computed[out] = sample == shape(x) ? x : try apply(.reshape, [x], Attributes(["shape": .ints(sample)]), node)
    }

    /// A range of the last dimension (step 1): the runtime's slice.
    private func slice(_ node: Onnx_NodeProto, _ out: String) throws(ONNXError) {
        try only(node, [])
        let x = try computedInput(node, 0), s = shape(x), rank = s.count + 1
        func list(_ i: Int, _ what: String) throws(ONNXError) -> [Int]? {
            guard let t = try optionalKnown(node, i, what: what) else { return nil }
            guard let v = t.integers else { throw fail("\(what) must be integers") }
            return v
        }
        guard let starts = try list(1, "starts"), let ends = try list(2, "ends"), starts.count == 1, ends.count == 1 else {
            throw fail("only a slice of one axis is supported")
        }
        let axis = try normalisedAxis((try list(3, "axes"))?.first ?? 0, rank: rank)
        guard (try list(4, "steps") ?? [1]) == [1] else { throw fail("only step 1 is supported") }
        guard axis == rank - 1, let n = s.last else { throw fail("only a slice of the last axis is supported") }
        func clamp(_ v: Int) -> Int { min(max(v < 0 ? v + n : v, 0), n) }
        let (start, end) = (clamp(starts[0]), clamp(ends[0]))
        guard end > start else { throw fail("the slice \(starts[0])..<\(ends[0]) of \(n) is empty") }
        computed[out] = start == 0 && end == n ? x
            : try apply(.slice, [x], Attributes(["start": .int(start), "count": .int(end - start)]), node)
    }

    private func batchNorm(_ node: Onnx_NodeProto, _ out: String) throws(ONNXError) {
        try only(node, ["epsilon", "momentum", "training_mode", "spatial"])
        guard int(node, "training_mode", 0) == 0 else { throw fail("training_mode = 1 (batch statistics) is not an inference op") }
        try onlyFirstOutputUsed(node)
        let x = try computedInput(node, 0), s = shape(x)
        let channels = s[0]
        let parts = try (1...4).map { i throws(ONNXError) in try knownInput(node, i, what: ["scale", "bias", "mean", "variance"][i - 1]) }
        guard parts.allSatisfy({ $0.count == channels }) else { throw fail("scale, bias, mean and variance need \(channels) values each") }
        let epsilon = Double(float(node, "epsilon", 1e-5))
        var scale = [Float](repeating: 0, count: channels), shift = scale
        for c in 0..<channels {
            let a = Double(parts[0].floats[c]) / (Double(parts[3].floats[c]) + epsilon).squareRoot()
            scale[c] = Float(a)
            shift[c] = Float(Double(parts[1].floats[c]) - Double(parts[2].floats[c]) * a)
        }
        computed[out] = try apply(.channelAffine, [x, parameter(out + ".scale", shape: [channels], scale), parameter(out + ".shift", shape: [channels], shift)],
                                  Attributes(), node)
    }

    private func layerNorm(_ node: Onnx_NodeProto, _ out: String) throws(ONNXError) {
        try only(node, ["axis", "epsilon", "stash_type"])
        try onlyFirstOutputUsed(node)
        let x = try computedInput(node, 0), s = shape(x)
        guard try normalisedAxis(int(node, "axis", -1), rank: s.count + 1) == s.count else {
            throw fail("only normalisation over the last axis is supported")
        }
        guard float(node, "epsilon", 1e-5) == Float(1e-5) else {
            throw fail("epsilon \(float(node, "epsilon", 1e-5)): the runtime's layer norm uses 1e-5 (PyTorch's default)")
        }
        let d = s.last!
        let gamma = try knownInput(node, 1, what: "scale")
        let beta = try optionalKnown(node, 2, what: "bias")?.floats ?? [Float](repeating: 0, count: d)
        guard gamma.count == d, beta.count == d else { throw fail("scale and bias need \(d) values each") }
        computed[out] = try apply(.layerNorm, [x, parameter(out + ".g", shape: [d], gamma.floats), parameter(out + ".b", shape: [d], beta)], Attributes(), node)
    }

    private func softmax(_ node: Onnx_NodeProto, _ out: String) throws(ONNXError) {
        try only(node, ["axis"])
        let x = try computedInput(node, 0), s = shape(x)
        guard out == graph.output[0].name else {
            throw fail("Softmax inside the graph has no op in the runtime (only as the last op, over the classes, which becomes the file's probabilities output)")
        }
        guard try normalisedAxis(int(node, "axis", -1), rank: s.count + 1) == s.count, s.dropLast().allSatisfy({ $0 == 1 }) else {
            throw fail("only a softmax over the one row of classes of each sample is supported; the input is \(s) per sample")
        }
        outputKind = .probabilities
        computed[out] = x
    }

    private func attention(_ node: Onnx_NodeProto, _ out: String) throws(ONNXError) {
        try only(node, ["is_causal", "q_num_heads", "kv_num_heads", "scale", "softcap", "qk_matmul_output_mode", "softmax_precision"])
        try onlyFirstOutputUsed(node)
        guard node.input.count <= 3 || node.input.dropFirst(3).allSatisfy(\.isEmpty) else {
            throw fail("masks and past keys or values are not supported (Q, K and V only; is_causal for a causal mask)")
        }
        let q = try computedInput(node, 0), k = try computedInput(node, 1), v = try computedInput(node, 2)
        let s = shape(q)
        guard s.count == 2, shape(k) == s, shape(v) == s else {
            throw fail("needs Q, K and V of one shape [N, T, D]; they are \(s), \(shape(k)), \(shape(v)) per sample")
        }
        let heads = int(node, "q_num_heads", 0)
        guard heads > 0, int(node, "kv_num_heads", heads) == heads, s[1] % heads == 0 else {
            throw fail("needs q_num_heads = kv_num_heads dividing the width \(s[1]) (3-D inputs)")
        }
        if let scale = attribute(node, "scale")?.f, abs(Double(scale) * Double(s[1] / heads).squareRoot() - 1) > 1e-6 {
            throw fail("scale \(scale): the runtime scales by 1/√d_head (\(1 / Double(s[1] / heads).squareRoot()))")
        }
        guard float(node, "softcap", 0) == 0, int(node, "qk_matmul_output_mode", 0) == 0 else { throw fail("softcap and qk_matmul_output_mode are not supported") }
        var attributes = Attributes(["heads": .int(heads)])
        if int(node, "is_causal", 0) == 1 { attributes["causal"] = .int(1) }
        computed[out] = try apply(.attention, [q, k, v], attributes, node)
    }

    // MARK: - Output

    func write(options: ONNXImport.Options) throws(ONNXError) -> ONNXImport.Result {
        let outName = graph.output[0].name
        guard let output = computed[outName] else {
            throw ONNXError(known[outName] != nil ? "the output '\(outName)' is a constant" : "the output '\(outName)' is produced by no node")
        }
        builder.output(output)
        let built: Graph
        do { built = try builder.build() } catch { throw ONNXError("the imported graph is not valid: \(error)") }
        let sample = built.type(of: built.inputs[0]).shape
        let count = sample.reduce(1, *)
        var shape: (channels: Int, height: Int, width: Int) = switch sample.count {
        case 1: (1, 1, sample[0])
        case 2: (1, sample[0], sample[1])
        case 3: (sample[0], sample[1], sample[2])
        default: (1, 1, count)
        }
        if let given = options.inputShape {
            guard given.channels * given.height * given.width == count else {
                throw ONNXError("--input-shape \(given.channels)x\(given.height)x\(given.width) has \(given.channels * given.height * given.width) values; the model's input has \(count)")
            }
            shape = given
        }
        // An image of one channel is read as pixels in [0, 1] (what PNG classification feeds).
        let image = options.inputShape != nil || sample.count == 3
        let encoding = options.inputEncoding ?? (image && shape.channels == 1 && shape.height > 1 ? .pixels : .floats)
        guard takesTokens == (options.vocabulary != nil) else {
            throw ONNXError(takesTokens ? "the input '\(inputName)' holds token ids: pass --vocab-from TEXT (the text whose sorted set of bytes is the vocabulary)"
                                        : "--vocab-from is for models whose input is token ids")
        }
        let bytes: [UInt8]
        do {
            var file = try ModelWriter.graphFile(built, values: weights)
            if let vocabulary = options.vocabulary {
                let logits = built.type(of: output).shape.last ?? 0
                guard logits == vocabulary.count else {
                    throw ONNXError("the vocabulary has \(vocabulary.count) bytes; the model's output has \(logits) logits per position")
                }
                _ = file.parameter(ModelTensor(name: "vocabulary", shape: [vocabulary.count], values: vocabulary.map(Float.init)))
            }
            bytes = try ModelWriter.serialise(graph: file, description: .init(inputShape: shape, outputKind: outputKind, inputEncoding: encoding))
        } catch let error as ONNXError { throw error } catch { throw ONNXError("cannot write the model file: \(error)") }
        let opList = ops.sorted { $0.key < $1.key }.map { "\($0.value) \($0.key)" }.joined(separator: ", ")
        let summary = "opset \(opset), \(graph.node.count) nodes (\(opList)), \(weights.values.reduce(0) { $0 + $1.count }) parameters; "
            + "input \(shape.channels)x\(shape.height)x\(shape.width) (\(takesTokens ? "token ids" : encoding == .pixels ? "pixels" : "floats")), output \(outputKind == .probabilities ? "probabilities" : "values")"
        return ONNXImport.Result(modelFile: bytes, summary: summary)
    }
}
