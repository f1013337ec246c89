import LowLevel
import ArgumentParser
import Graph
import Arena
import Classic
import Foundation
import Infer
import Training
import ModelFile
import InferTools
import InferC
import MNIST
import Plots
import ONNX

@main
struct ExportTool: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export-tool",
        abstract: "Convert, inspect and verify flat model files (docs/FORMAT.md).",
        subcommands: [Convert.self, Export.self, Inspect.self, Verify.self])
}

/// Failure with a message for the user and a non-zero exit.
struct ToolError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

struct Convert: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Convert a training checkpoint, safetensors weights with --arch, or an ONNX model to a model file.",
        discussion: """
        An ONNX file (.onnx) is imported when its graph uses ops the runtime has (opsets \(ONNXImport.opsets.lowerBound)-\(ONNXImport.opsets.upperBound)): \
        Gemm, MatMul (by a constant), Add, Sub, Mul, Div (by a constant), Relu, Sigmoid, Tanh, Elu, Gelu, Exp, Log, Neg, \
        Softmax (last, over the classes), Conv, MaxPool, AveragePool (unpadded), GlobalAveragePool, GlobalMaxPool, Flatten, \
        Reshape, Transpose, Concat, Slice (of the last axis), BatchNormalization (folded), LayerNormalization, Attention \
        (opset 23), Gather (an embedding of the input's token ids; needs --vocab-from), Constant, Identity, Dropout. \
        Anything else is refused with the node's name.
        """)

    @Argument(help: "A checkpoint written by `train --checkpoint`, a .safetensors file, or an .onnx file.") var input: String
    @Option(name: .shortAndLong, help: "The model file to write (atomically).") var output: String
    @Option(help: "Architecture of safetensors weights: mlp:IN,HIDDEN...,OUT[:relu|elu|sigmoid|tanh], or gpt:layers=L,heads=H,width=C,context=T (nanoGPT's names and layouts; needs --vocab-from).") var arch: String?
    @Option(help: "--arch gpt, or an ONNX model of token ids: a text whose sorted set of bytes is the model's vocabulary (the text the model was trained on).") var vocabFrom: String?
    @Option(help: "Input shape CxHxW (default 1x28x28 for 784 inputs, else 1x1xN).") var inputShape: String?
    @Option(help: "Input encoding: pixels (images scaled to [0,1]) or floats (default pixels for 1xHxW images).") var encoding: String?
    @Option(help: "Model file format: 2 (the inference graph, the default) or 1 (a layer list, for runtimes built before version 2).")
    var formatVersion: Int = 2

    func run() throws {
        guard formatVersion == 1 || formatVersion == 2 else { throw ToolError("--format-version must be 1 or 2, not \(formatVersion)") }
        let bytes = try AtomicFile.read(input)
        if input.lowercased().hasSuffix(".onnx") { return try convertONNX(bytes) }
        if let arch, arch.hasPrefix("gpt") { return try convertGPT(bytes, arch: arch) }
        guard vocabFrom == nil else { throw ToolError("--vocab-from is for --arch gpt:...") }
        let (spec, tensors): (NetworkSpec, [ModelTensor])
        if bytes.starts(with: Checkpoint.magic) {
            guard arch == nil else { throw ToolError("--arch is for safetensors files; a checkpoint describes its own network") }
            let checkpoint = try Checkpoint(decoding: bytes, path: input)
            spec = checkpoint.header.network
            tensors = try weights(of: checkpoint)
        } else {
            guard let arch else {
                throw ToolError("\(input) is not a checkpoint; for safetensors weights pass --arch mlp:IN,HIDDEN,...,OUT")
            }
            let file = try Safetensors(bytes: bytes, path: input)
            let (widths, activation) = try parseArch(arch)
            (spec, tensors) = try file.mlp(widths: widths, activation: activation)
        }
        let shape = try parseShape(inputs: spec.inputCount)
        let pixels = (encoding ?? (shape.height > 1 ? "pixels" : "floats"))
        guard let inputEncoding: ModelFormat.InputEncoding = pixels == "pixels" ? .pixels : pixels == "floats" ? .floats : nil else {
            throw ToolError("--encoding must be pixels or floats, not \(pixels)")
        }
        let kind: ModelFormat.OutputKind = spec.loss == .softmaxCrossEntropy ? .probabilities : .values
        let model = try ModelWriter.encode(spec: spec, tensors: tensors,
                                           description: .init(inputShape: shape, outputKind: kind, inputEncoding: inputEncoding),
                                           version: formatVersion)
        try AtomicFile.write(model, to: output)
        print("wrote \(output): \(model.count) bytes, format version \(formatVersion), \(spec.parameterCount) parameters")
    }

    /// An ONNX graph imported as a version-2 model file.
    func convertONNX(_ bytes: [UInt8]) throws {
        guard arch == nil else { throw ToolError("--arch is for safetensors; an ONNX file describes its own graph") }
        guard formatVersion == 2 else { throw ToolError("an ONNX graph is written as format version 2 only") }
        var options = ONNXImport.Options()
        if let vocabFrom { options.vocabulary = Array(Set(try AtomicFile.read(vocabFrom))).sorted() }
        if let inputShape {
            let dims = inputShape.split(separator: "x").compactMap { Int($0) }
            guard dims.count == 3, dims.allSatisfy({ $0 > 0 }) else { throw ToolError("--input-shape must be CxHxW, not \(inputShape)") }
            options.inputShape = (dims[0], dims[1], dims[2])
        }
        if let encoding {
            guard let e: ModelFormat.InputEncoding = encoding == "pixels" ? .pixels : encoding == "floats" ? .floats : nil else {
                throw ToolError("--encoding must be pixels or floats, not \(encoding)")
            }
            options.inputEncoding = e
        }
        let result: ONNXImport.Result
        do { result = try ONNXImport.convert(bytes, options: options) } catch { throw ToolError("\(input): \(error)") }
        try AtomicFile.write(result.modelFile, to: output)
        print("wrote \(output): \(result.modelFile.count) bytes from \(input): \(result.summary)")
    }

    /// The checkpoint's parameter tensors under the network's own names and shapes.
    func weights(of checkpoint: Checkpoint) throws -> [ModelTensor] {
        let spec = checkpoint.header.network
        let arena = try ArenaAllocator(capacity: spec.arenaBytes(maxBatch: 1))
        var rng = RandomGenerator(seed: 0)
        let network = try Network(spec: spec, maxBatch: 1, arena: arena, rng: &rng)
        try checkpoint.restoreWeights(into: network)
        return network.parameters.map { ModelTensor(name: $0.name, shape: $0.shape, values: Array($0.value)) }
    }

    /// nanoGPT weights to a GPT model file with the vocabulary of `--vocab-from`.
    func convertGPT(_ bytes: [UInt8], arch: String) throws {
        guard formatVersion == 2 else { throw ToolError("a GPT needs format version 2") }
        guard inputShape == nil, encoding == nil else { throw ToolError("--input-shape and --encoding do not apply to a GPT: its input is token ids") }
        let shape = try parseGPTArch(arch)
        guard let vocabFrom else {
            throw ToolError("--arch gpt needs --vocab-from TEXT_FILE: the text whose sorted set of bytes is the model's vocabulary")
        }
        let vocabulary = Array(Set(try AtomicFile.read(vocabFrom))).sorted()
        guard vocabulary.count >= 2 else { throw ToolError("\(vocabFrom) holds \(vocabulary.count) distinct bytes: too few for a vocabulary") }
        let file = try Safetensors(bytes: bytes, path: input)
        let (config, weights) = try file.gpt(layers: shape.layers, heads: shape.heads, width: shape.width, context: shape.context,
                                             vocabulary: vocabulary.count)
        let model = try ModelWriter.encode(gpt: config, weights: weights, vocabulary: vocabulary)
        try AtomicFile.write(model, to: output)
        let parameters = weights.values.reduce(0) { $0 + $1.count }
        print("wrote \(output): \(model.count) bytes, a GPT of \(config.layers) layers, \(config.heads) heads, width \(config.width), context \(config.context), "
              + "vocabulary \(vocabulary.count) bytes from \(vocabFrom), \(config.biases ? "with" : "no") biases, \(parameters) parameters")
    }

    /// `gpt:layers=L,heads=H,width=C,context=T`, each key once.
    func parseGPTArch(_ text: String) throws -> (layers: Int, heads: Int, width: Int, context: Int) {
        let usage = "--arch must look like gpt:layers=4,heads=4,width=128,context=64, not \(text)"
        guard text.hasPrefix("gpt:") else { throw ToolError(usage) }
        var values: [String: Int] = [:]
        for pair in text.dropFirst(4).split(separator: ",") {
            let parts = pair.split(separator: "=", omittingEmptySubsequences: false)
            guard parts.count == 2, let value = Int(parts[1]), value > 0, values[String(parts[0])] == nil else { throw ToolError(usage) }
            values[String(parts[0])] = value
        }
        guard Set(values.keys) == ["layers", "heads", "width", "context"] else { throw ToolError(usage) }
        return (values["layers"]!, values["heads"]!, values["width"]!, values["context"]!)
    }

    func parseArch(_ text: String) throws -> ([Int], ActivationKind) {
        let parts = text.split(separator: ":").map(String.init)
        guard parts.count >= 2, parts.count <= 3, parts[0] == "mlp" else {
            throw ToolError("--arch must look like mlp:784,128,10 or mlp:784,128,10:tanh, not \(text)")
        }
        let widths = parts[1].split(separator: ",").compactMap { Int($0) }
        guard widths.count == parts[1].split(separator: ",").count, widths.count >= 2, widths.allSatisfy({ $0 > 0 }) else {
            throw ToolError("--arch widths must be positive integers separated by commas, not \(parts[1])")
        }
        let activation = parts.count == 3 ? ActivationKind(rawValue: parts[2]) : .relu
        guard let activation else { throw ToolError("unknown activation \(parts[2]) in --arch") }
        return (widths, activation)
    }

    func parseShape(inputs: Int) throws -> (channels: Int, height: Int, width: Int) {
        guard let inputShape else { return inputs == 784 ? (1, 28, 28) : (1, 1, inputs) }
        let dims = inputShape.split(separator: "x").compactMap { Int($0) }
        guard dims.count == 3, dims.allSatisfy({ $0 > 0 }), dims[0] * dims[1] * dims[2] == inputs else {
            throw ToolError("--input-shape must be CxHxW with C*H*W = \(inputs), not \(inputShape)")
        }
        return (dims[0], dims[1], dims[2])
    }
}

/// `export model.bin -o model.onnx`: the model file's graph as ONNX.
struct Export: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Write a model file's graph as an ONNX model (for a viewer, or onnxruntime).",
        discussion: """
        The graph's ops as ONNX's (opset 17; 20 with GELU, 23 with attention), the weights as initializers, the batch \
        as a symbolic first dimension N; a classifier ends in a Softmax. Not exported: a flow's density, a diffusion \
        model's sampler, the classic models' kernel, voting and neighbour ops (each refused with a message).
        """)
    @Argument(help: "The model file.") var model: String
    @Option(name: .shortAndLong, help: "The ONNX file to write (atomically).") var output: String

    func run() throws {
        let bytes = try AtomicFile.read(model)
        let onnx: [UInt8]
        do { onnx = try ONNXExport.onnx(modelFile: bytes, graphName: (model as NSString).lastPathComponent) } catch {
            throw ToolError("\(model): \(error)")
        }
        try AtomicFile.write(onnx, to: output)
        print("wrote \(output): \(onnx.count) bytes (ONNX)")
    }
}

/// Loads a model file and opens it through the C interface, as a C program would.
struct OpenedModel {
    let bytes: UnsafeMutableRawBufferPointer
    let arena: UnsafeMutableRawBufferPointer
    let handle: OpaquePointer
    let arenaBytes: Int

    init(path: String) throws {
        let data = try AtomicFile.read(path)
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(data.count, 1), alignment: 64)
        data.withUnsafeBytes { bytes.copyMemory(from: $0) }
        self.bytes = bytes
        var needed = 0
        var status = infer_arena_size(bytes.baseAddress, data.count, &needed)
        guard status == 0 else { throw ToolError("\(path): \(String(cString: infer_last_error()))") }
        arenaBytes = needed
        let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: max(needed, 1), alignment: 64)
        self.arena = arena
        var out: OpaquePointer?
        status = infer_open(bytes.baseAddress, data.count, arena.baseAddress, needed, &out)
        guard status == 0, let out else { throw ToolError("\(path): \(String(cString: infer_last_error()))") }
        handle = out
    }
}

struct Inspect: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Describe a model file: layers, shapes, sizes, arena bytes.")
    @Argument(help: "The model file.") var model: String
    @Flag(help: "Print one JSON object.") var json = false

    func run() throws {
        let data = try AtomicFile.read(model)
        let description: [String: Any] = try data.withUnsafeBytes { raw -> [String: Any] in
            let file: ModelFile
            do { file = try ModelFile(base: raw.baseAddress!, length: raw.count) } catch {
                throw ToolError("\(model): \(String(cString: ErrorMessage.current))")
            }
            if file.graph != nil { return describeGraph(file, fileBytes: data.count) }
            var layers: [[String: Any]] = []
            var parameters = 0
            for i in 0..<file.layerCount {
                let layer = file.layer(i)
                switch layer.kind {
                case .dense:
                    let w = file.tensor(Int(layer.arg0)), b = file.tensor(Int(layer.arg1))
                    parameters += w.count + b.count
                    layers.append(["kind": "dense", "inputs": layer.inputs, "outputs": layer.outputs,
                                   "weight": [w.shape.0, w.shape.1], "bias": [b.shape.0],
                                   "weight_name": String(cString: file.tensorName(Int(layer.arg0)))])
                case .activation:
                    let name = ModelFormat.activation(code: layer.arg0)!.rawValue
                    layers.append(["kind": "activation", "function": name, "inputs": layer.inputs, "outputs": layer.outputs])
                case .conv2d:
                    let w = file.tensor(layer.arg(0)), b = file.tensor(layer.arg(1))
                    parameters += w.count + b.count
                    layers.append(["kind": "conv2d", "inputs": layer.inputs, "outputs": layer.outputs,
                                   "input_shape": [layer.arg(2), layer.arg(3), layer.arg(4)],
                                   "output_shape": [w.shape.0, layer.arg(11), layer.arg(12)],
                                   "weight": [w.shape.0, w.shape.1, w.shape.2, w.shape.3], "bias": [b.shape.0],
                                   "stride": [layer.arg(7), layer.arg(8)], "padding": [layer.arg(9), layer.arg(10)]])
                case .maxPool, .averagePool:
                    layers.append(["kind": layer.kind == .maxPool ? "maxpool" : "avgpool", "inputs": layer.inputs,
                                   "outputs": layer.outputs, "window": [layer.arg(3), layer.arg(4)], "stride": [layer.arg(5), layer.arg(6)]])
                case .channelAffine:
                    parameters += 2 * layer.arg(2)
                    layers.append(["kind": "affine", "inputs": layer.inputs, "outputs": layer.outputs, "channels": layer.arg(2)])
                case .kernel:
                    let points = file.tensor(layer.arg(0))
                    parameters += points.count
                    let kernel = KernelFunction(code: UInt32(layer.arg(1)), degree: UInt32(layer.arg(2)),
                                                sigma: Float(bitPattern: UInt32(layer.arg(3))))!
                    layers.append(["kind": "kernel", "function": kernel.description, "inputs": layer.inputs,
                                   "outputs": layer.outputs, "points": [points.shape.0, points.shape.1]])
                case .pairwiseVote:
                    layers.append(["kind": "pairwise_vote", "classes": layer.arg(0), "inputs": layer.inputs, "outputs": layer.outputs])
                case .nearestNeighbours:
                    let points = file.tensor(layer.arg(0))
                    parameters += points.count + points.shape.0
                    let mode = ["", "classify", "regress", "kernel_smoothing", "local_linear"][layer.arg(4)]
                    layers.append(["kind": "nearest_neighbours", "mode": mode, "k": layer.arg(2),
                                   "distance": DistanceMetric(code: UInt32(layer.arg(3)))!.rawValue,
                                   "inputs": layer.inputs, "outputs": layer.outputs, "points": [points.shape.0, points.shape.1]])
                }
            }
            let kind = ["values", "probabilities", "scores"][Int(file.outputKind.rawValue)]
            // The same model as a graph, planned for one sample with its weights in the file.
            var graphPlan: [String: Int]? = nil
            if let v1 = try? VersionOneGraph(file), let plan = try? MemoryPlan(graph: v1.graph, options: v1.inferenceOptions(maxBatch: 1)) {
                let weights = v1.weights.reduce(0) { $0 + file.tensor($1.tensor).byteLength }
                graphPlan = ["weights_in_file": weights, "activations": plan.bytes(.activations), "scratch": plan.bytes(.scratch),
                             "arena": plan.totalBytes, "nodes": v1.graph.nodes.count]
            }
            var result: [String: Any] = ["layers": layers, "parameters": parameters, "file_bytes": data.count,
                    "arena_bytes": RuntimeModel.arenaBytes(for: file),
                    "input_shape": [file.inputChannels, file.inputHeight, file.inputWidth],
                    "input_encoding": file.inputEncoding == .pixels ? "pixels" : "floats",
                    "output_length": file.outputLength, "output_kind": kind, "format_version": 1,
                    "accepts_png": file.acceptsImages]
            if let graphPlan { result["graph_plan"] = graphPlan } // absent for the classic models' layers
            return result
        }
        if json {
            print(JSONText.encode(description))
            return
        }
        let shape = (description["input_shape"] as! [Int]).map(String.init).joined(separator: "x")
        print("\(model): format version \(description["format_version"]!), \(description["file_bytes"]!) bytes")
        print("input \(shape) (\(description["input_encoding"]!)), output \(description["output_length"]!) \(description["output_kind"]!)")
        if let nodes = description["nodes"] as? [[String: Any]] {
            for (i, node) in nodes.enumerated() {
                let arguments = (node["arguments"] as! [String: [Double]]).sorted { $0.key < $1.key }
                    .map { "\($0.key)=\($0.value.map { $0 == $0.rounded() ? String(Int($0)) : String($0) }.joined(separator: ","))" }
                print("  \(i): \(node["op"]!) \(node["name"]!)(\((node["inputs"] as! [String]).joined(separator: ", ")))"
                      + " → \(node["output_shape"]!)\(arguments.isEmpty ? "" : "  " + arguments.joined(separator: " "))")
            }
            if let vocabulary = description["vocabulary"] as? Int, vocabulary > 0 {
                print("a sequence model: vocabulary \(vocabulary) bytes, context \(description["input_shape"].flatMap { ($0 as? [Int])?.last } ?? 0) tokens "
                      + "(examples/c/generate continues a prompt)")
            }
            let plan = description["plan"] as! [String: Int]
            print("parameters: \(description["parameters"]!) (\(plan["weights_in_file"]!) bytes, read in the file)")
            print("arena bytes for inference: \(description["arena_bytes"]!)\((description["accepts_png"] as! Bool) ? " (PNG input included)" : ""):"
                  + " activations \(plan["activations"]!) (the file's plan, buffers shared by lifetime), runtime \(plan["runtime"]!)"
                  + " (scratch, node table\((description["accepts_png"] as! Bool) ? ", PNG decoding" : ""))")
            return
        }
        for (i, layer) in (description["layers"] as! [[String: Any]]).enumerated() {
            switch layer["kind"] as! String {
            case "dense":
                print("  \(i): dense \(layer["inputs"]!) → \(layer["outputs"]!)  weight \(layer["weight"]!) bias \(layer["bias"]!)")
            case "activation":
                print("  \(i): \(layer["function"]!) (\(layer["inputs"]!))")
            case "conv2d":
                print("  \(i): conv2d \(layer["input_shape"]!) → \(layer["output_shape"]!)  weight \(layer["weight"]!) stride \(layer["stride"]!) padding \(layer["padding"]!)")
            case "kernel":
                print("  \(i): kernel \(layer["function"]!) \(layer["inputs"]!) → \(layer["outputs"]!)  points \(layer["points"]!)")
            case "nearest_neighbours":
                print("  \(i): nearest neighbours (\(layer["mode"]!), k \(layer["k"]!), \(layer["distance"]!)) \(layer["inputs"]!) → \(layer["outputs"]!)  points \(layer["points"]!)")
            default:
                print("  \(i): \(layer["kind"]!) \(layer["inputs"]!) → \(layer["outputs"]!)")
            }
        }
        print("parameters: \(description["parameters"]!)")
        print("arena bytes for inference: \(description["arena_bytes"]!)\((description["accepts_png"] as! Bool) ? " (PNG input included)" : "")")
        if let plan = description["graph_plan"] as? [String: Int] {
            print("as a graph of \(plan["nodes"]!) nodes, one sample: \(plan["arena"]!) arena bytes (activations \(plan["activations"]!), "
                  + "scratch \(plan["scratch"]!), buffers shared by lifetime); weights \(plan["weights_in_file"]!) bytes, read in the file")
        }
    }
}

struct Verify: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run a test set through the C interface and report accuracy (or, for regression models, the mean squared error).",
        discussion: "MNIST by default (--data DIR or $MNIST_DIR). With --dataset iris|wine|breast_cancer|diabetes, the test rows of that small data set's fixed split, raw (a model trained by `train --dataset` standardises them itself); its directory comes from --data or $SMALL_DATA_DIR.")
    @Argument(help: "The model file.") var model: String
    @Option(help: "MNIST directory (default: $MNIST_DIR), or the small data sets' directory with --dataset.") var data: String?
    @Option(help: "A small data set instead of MNIST: iris, wine, breast_cancer, diabetes.") var dataset: String?
    @Option(help: "Only the first N test images (for a GPT: the first N validation windows).") var limit: Int?
    @Option(help: "For a GPT: the text whose last 10% validates, as `train --model gpt` splits it (default: input.txt in --data DIR, else in $TINYSHAKESPEARE_DIR).")
    var text: String?
    @Option(help: "Also draw the confusion matrix (true class × predicted class, with counts and each class's recall) as a PNG file here (classifiers).")
    var confusion: String?
    @Flag(help: "Print one JSON object.") var json = false

    /// `--confusion`: the matrix of these predictions as a PNG figure, written atomically.
    func writeConfusion(truth: [Int], predicted: [Int], classes: Int, labels: [String]? = nil, title: String) throws {
        guard let confusion else { return }
        let chart = ConfusionMatrixChart(counts: ConfusionMatrixChart.counts(truth: truth, predicted: predicted, classes: classes),
                                         labels: labels ?? (0..<classes).map(String.init), title: title)
        do { try AtomicFile.write(try chart.png(), to: confusion) } catch { throw ToolError("--confusion: cannot write \(confusion): \(error)") }
        FileHandle.standardError.write(Data("confusion matrix: \(confusion)\n".utf8))
    }

    func run() throws {
        if let dataset { return try verifyTabular(dataset) }
        // Opened once here when it opens: a sequence model is verified on a text. A file that does
        // not open falls through, so a missing data directory is reported before the model's error.
        let preopened = try? OpenedModel(path: model)
        defer { if let preopened { preopened.bytes.deallocate(); preopened.arena.deallocate() } }
        if let preopened, infer_vocab_len(preopened.handle) > 0 {
            guard confusion == nil else { throw ToolError("--confusion needs a classifier; \(model) is a sequence model") }
            return try verifySequence(preopened)
        }
        guard let directory = data ?? ProcessInfo.processInfo.environment["MNIST_DIR"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw ToolError("no data: pass --data DIR or set MNIST_DIR to the MNIST directory")
        }
        let test = try MNISTDataset(directory: directory).test
        let opened = try preopened ?? OpenedModel(path: model)
        defer { if preopened == nil { opened.bytes.deallocate(); opened.arena.deallocate() } }
        let inputs = infer_input_len(opened.handle), outputs = infer_output_len(opened.handle)
        guard inputs == test.pixelsPerImage else {
            throw ToolError("the model takes \(inputs) inputs; MNIST images have \(test.pixelsPerImage)")
        }
        let count = min(limit ?? test.count, test.count)
        var input = [Float](repeating: 0, count: inputs), output = [Float](repeating: 0, count: outputs)
        if confusion != nil && outputs < 2 { throw ToolError("--confusion needs a classifier; \(model) has \(outputs) output") }
        var correct = 0
        var predictions = [Int](repeating: 0, count: count)
        let start = Date()
        for i in 0..<count {
            for p in 0..<inputs { input[p] = Float(test.pixels[i * inputs + p]) * (1 / 255) }
            let status = infer_run(opened.handle, input, inputs, &output, outputs)
            guard status == 0 else { throw ToolError("infer_run failed: \(String(cString: infer_last_error()))") }
            var best = 0
            for k in 1..<outputs where output[k] > output[best] { best = k }
            if best == Int(test.labels[i]) { correct += 1 }
            predictions[i] = best
        }
        let seconds = Date().timeIntervalSince(start)
        let accuracy = Double(correct) / Double(max(count, 1))
        if json {
            let object: [String: Any] = ["accuracy": accuracy, "count": count, "correct": correct, "seconds": seconds]
            print(JSONText.encode(object))
        } else {
            print(String(format: "%@: %d of %d correct, accuracy %.2f%% (%.1f µs per image)", model, correct, count,
                         accuracy * 100, seconds / Double(max(count, 1)) * 1e6))
        }
        try writeConfusion(truth: test.labels.prefix(count).map(Int.init), predicted: predictions, classes: outputs,
                           title: "\((model as NSString).lastPathComponent) on MNIST's test digits")
    }

    /// A GPT's validation loss through the C interface: the validation part (the text's last 10%)
    /// in consecutive windows of `infer_context_len` + 1 tokens; each window resets the model and
    /// feeds its first T tokens with `infer_next`, scoring every next token (the mean
    /// cross-entropy over all T positions of every window, in nats). `train --model gpt` reports
    /// the same figure from Swift as `val_loss_windows`.
    func verifySequence(_ opened: OpenedModel) throws {
        let environment = ProcessInfo.processInfo.environment["TINYSHAKESPEARE_DIR"].flatMap { $0.isEmpty ? nil : $0 }
        guard let path = text ?? (data ?? environment).map({ $0 + "/input.txt" }) else {
            throw ToolError("a GPT needs a text: --text FILE, --data DIR (with input.txt), or TINYSHAKESPEARE_DIR")
        }
        let bytes = try AtomicFile.read(path)
        let split = Int(Double(bytes.count) * 0.9)
        let validation = Array(bytes[split...])
        let vocabulary = infer_vocab_len(opened.handle), context = infer_context_len(opened.handle)
        var tokens = [Int32](repeating: 0, count: validation.count), count = 0
        let status = validation.withUnsafeBytes { raw in
            infer_tokenize(opened.handle, raw.baseAddress!.assumingMemoryBound(to: CChar.self), validation.count, &tokens, tokens.count, &count)
        }
        guard status == 0 else { throw ToolError("\(path): \(String(cString: infer_last_error()))") }
        let available = (count - 1) / context
        guard available > 0 else { throw ToolError("\(path): the validation part has \(count) tokens, fewer than one window of \(context + 1)") }
        let windows = min(limit ?? available, available)
        var probabilities = [Float](repeating: 0, count: vocabulary)
        var total = 0.0
        let start = Date()
        var reported = start
        for w in 0..<windows {
            guard infer_reset(opened.handle) == 0 else { throw ToolError("infer_reset failed: \(String(cString: infer_last_error()))") }
            for i in (w * context)..<((w + 1) * context) {
                guard infer_next(opened.handle, tokens[i], &probabilities, vocabulary) == 0 else {
                    throw ToolError("infer_next failed: \(String(cString: infer_last_error()))")
                }
                total -= log(Double(probabilities[Int(tokens[i + 1])]))
            }
            if !json, Date().timeIntervalSince(reported) > 5 {
                reported = Date()
                FileHandle.standardError.write(Data("window \(w + 1) of \(windows), loss so far \(String(format: "%.4f", total / Double((w + 1) * context)))\n".utf8))
            }
        }
        let seconds = Date().timeIntervalSince(start), scored = windows * context
        let loss = total / Double(scored)
        if json {
            print(JSONText.encode(["val_loss": loss, "windows": windows, "tokens": scored, "context": context, "seconds": seconds] as [String: Any]))
        } else {
            print(String(format: "%@ on the last 10%% of %@: validation loss %.4f nats over %d windows of %d tokens (%.1f µs per token)",
                         model, path, loss, windows, context, seconds / Double(scored) * 1e6))
        }
    }

    func verifyTabular(_ name: String) throws {
        guard let directory = data ?? ProcessInfo.processInfo.environment["SMALL_DATA_DIR"].flatMap({ $0.isEmpty ? nil : $0 }) else {
            throw ToolError("no data: pass --data DIR or set SMALL_DATA_DIR to the directory holding \(name).csv and its split")
        }
        let test = try TabularData.loadSplit(name: name, directory: directory).test
        let opened = try OpenedModel(path: model)
        defer { opened.bytes.deallocate(); opened.arena.deallocate() }
        let inputs = infer_input_len(opened.handle), outputs = infer_output_len(opened.handle)
        guard inputs == test.columns else { throw ToolError("the model takes \(inputs) inputs; \(name) rows have \(test.columns)") }
        let count = min(limit ?? test.rows, test.rows)
        var output = [Float](repeating: 0, count: outputs)
        guard confusion == nil || test.isClassification else { throw ToolError("--confusion needs a classifier; \(name) is a regression data set") }
        var correct = 0, squared = 0.0
        var predictions = [Int](repeating: 0, count: count)
        for i in 0..<count {
            let row = Array(test.features[(i * inputs)..<((i + 1) * inputs)])
            guard infer_run(opened.handle, row, inputs, &output, outputs) == 0 else {
                throw ToolError("infer_run failed: \(String(cString: infer_last_error()))")
            }
            if test.isClassification {
                var best = 0
                for k in 1..<outputs where output[k] > output[best] { best = k }
                if best == Int(test.targets[i]) { correct += 1 }
                predictions[i] = best
            } else {
                let e = Double(output[0] - test.targets[i])
                squared += e * e
            }
        }
        var object: [String: Any] = ["count": count, "dataset": name]
        if test.isClassification {
            object["accuracy"] = Double(correct) / Double(max(count, 1)); object["correct"] = correct
        } else {
            object["mse"] = squared / Double(max(count, 1))
        }
        if json {
            print(JSONText.encode(object))
        } else if test.isClassification {
            print(String(format: "%@ on %@: %d of %d correct, accuracy %.2f%%", model, name, correct, count, Double(correct) / Double(max(count, 1)) * 100))
        } else {
            print(String(format: "%@ on %@: mean squared error %.4g over %d rows", model, name, squared / Double(max(count, 1)), count))
        }
        if test.isClassification {
            try writeConfusion(truth: test.targets.prefix(count).map { Int($0) }, predicted: predictions, classes: max(outputs, 2),
                               title: "\((model as NSString).lastPathComponent) on \(name)'s test rows")
        }
    }
}

/// `inspect`'s description of a version-2 file: its nodes with their inputs and arguments, and the
/// arena by category.
func describeGraph(_ file: ModelFile, fileBytes: Int) -> [String: Any] {
    let graph = file.graph!
    var nodes: [[String: Any]] = []
    for i in 0..<graph.nodeCount {
        let node = file.node(i)
        var arguments: [String: [Double]] = [:]
        for a in node.argumentFirst..<(node.argumentFirst + node.argumentCount) {
            let (name, argument) = file.argumentRecord(a)
            arguments[String(cString: name)] = (0..<argument.count).map { argument.type == .ints ? Double(argument.int($0)) : Double(argument.float($0)) }
        }
        let y = file.value(node.output(0))
        nodes.append(["op": node.op.name, "name": String(cString: file.nodeName(i)),
                      "inputs": (0..<node.inputCount).map { String(cString: file.valueName(node.input($0))) },
                      "output_shape": Array([y.dims.0, y.dims.1, y.dims.2, y.dims.3].prefix(y.rank)), "arguments": arguments])
    }
    var parameters = 0, weightBytes = 0
    for t in 0..<file.tensorCount { parameters += file.tensor(t).count; weightBytes += file.tensor(t).byteLength }
    let arena = RuntimeModel.arenaBytes(for: file)
    return ["nodes": nodes, "values": graph.valueCount, "parameters": parameters, "file_bytes": fileBytes, "arena_bytes": arena,
            "plan": ["weights_in_file": weightBytes, "activations": graph.planBytes, "runtime": arena - graph.planBytes],
            "input_shape": [file.inputChannels, file.inputHeight, file.inputWidth],
            "input_encoding": file.inputIsTokens ? "tokens" : file.isGenerative ? "gaussian_latent" : file.inputEncoding == .pixels ? "pixels" : "floats",
            "output_length": file.outputLength, "output_kind": ["values", "probabilities", "scores"][Int(file.outputKind.rawValue)],
            "format_version": 2, "accepts_png": file.acceptsImages,
            "vocabulary": file.vocabularyTensor.map { file.tensor($0).count } ?? 0]
}
