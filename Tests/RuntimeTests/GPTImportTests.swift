import Testing
import Foundation
import InferC
import InferTools
import LowLevel
import ModelFile
import ToolRunner
import Training

private func exportTool(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    try ToolRunner.run("export-tool", packageRoot: packageRoot.path, binaryVariable: "EXPORT_TOOL_BINARY", arguments: arguments)
}

/// A safetensors file of float32 tensors, in the order given (the reader's input format).
private func safetensors(_ tensors: [(name: String, shape: [Int], values: [Float])]) -> [UInt8] {
    var header: [String] = [], data: [UInt8] = [], offset = 0
    for t in tensors {
        header.append("\"\(t.name)\":{\"dtype\":\"F32\",\"shape\":[\(t.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + 4 * t.values.count)]}")
        for v in t.values { withUnsafeBytes(of: v.bitPattern.littleEndian) { data.append(contentsOf: $0) } }
        offset += 4 * t.values.count
    }
    let json = Array(("{" + header.joined(separator: ",") + "}").utf8)
    var bytes: [UInt8] = []
    withUnsafeBytes(of: UInt64(json.count).littleEndian) { bytes.append(contentsOf: $0) }
    return bytes + json + data
}

/// `export-tool convert --arch gpt:...`: nanoGPT's weights from PyTorch (the fixture in
/// ../shared/fixtures/gpt-pytorch) become a model file whose next-token probabilities through the
/// C interface are PyTorch's; what nanoGPT saves besides the parameters is accepted; wrong shapes
/// and options are refused by name. And `export-tool verify` on a GPT file: the validation loss
/// through C equals the trainer's own figure.
@Suite(.serialized) struct GPTImportTests {
    init() { BLAS.configure(threads: 1) }

    static let fixture: String = ProcessInfo.processInfo.environment["GPT_FIXTURE_DIR"].flatMap { $0.isEmpty ? nil : $0 }
        ?? packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures/gpt-pytorch").path
    static let present = FileManager.default.fileExists(atPath: fixture + "/reference.json")

    @Test(.enabled(if: present, "the GPT fixture is not at ../shared/fixtures/gpt-pytorch (set GPT_FIXTURE_DIR)"))
    func convertsNanoGPTWeightsThatMatchPyTorchThroughC() throws {
        let dir = NSTemporaryDirectory() + "gpt-import-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: Self.fixture + "/reference.json"))) as! [String: Any]
        let c = reference["config"] as! [String: Any]
        let (vocabulary, context) = (c["vocab"] as! Int, c["context"] as! Int)
        let arch = "gpt:layers=\(c["layers"]!),heads=\(c["heads"]!),width=\(c["width"]!),context=\(context)"
        // A text of exactly `vocabulary` distinct bytes, out of order and repeated.
        let text = (0..<(3 * vocabulary)).map { UInt8(32 + ($0 * 7) % vocabulary) }
        try Data(text).write(to: URL(fileURLWithPath: dir + "/text.txt"))
        let weights = Self.fixture + "/weights.safetensors"
        let r = try exportTool(["convert", weights, "--arch", arch, "--vocab-from", dir + "/text.txt", "-o", dir + "/gpt.bin"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stdout.contains("with biases") && r.stdout.contains("vocabulary \(vocabulary) bytes"), "\(r.stdout)")

        // PyTorch's logits for the first sequence, as probabilities after each token.
        let opened = try OpenModel([UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/gpt.bin"))))
        let h = opened.handle
        #expect(infer_vocab_len(h) == vocabulary && infer_context_len(h) == context)
        let inputs = (reference["inputs"] as! [[Int]])[0], logits = (reference["logits"] as! [[[Double]]])[0]
        var probabilities = [Float](repeating: 0, count: vocabulary), worst = 0.0
        #expect(infer_reset(h) == 0)
        for (i, token) in inputs.enumerated() {
            #expect(infer_next(h, Int32(token), &probabilities, vocabulary) == 0)
            let largest = logits[i].max()!, sum = logits[i].reduce(0) { $0 + exp($1 - largest) }
            for k in 0..<vocabulary {
                worst = max(worst, abs(log(Double(probabilities[k])) - (logits[i][k] - largest - log(sum))))
            }
        }
        #expect(worst < 2e-4, "largest log-probability difference from PyTorch: \(worst)")
        // The tokenizer is the vocabulary file's sorted bytes.
        var ids = [Int32](repeating: -1, count: 2), n = 0
        #expect(infer_tokenize(h, " !", 2, &ids, 2, &n) == 0 && ids == [0, 1])

        // nanoGPT's own saves: torch.compile's prefix, the tied head and the causal-mask buffers.
        let file = try Safetensors(bytes: [UInt8](Data(contentsOf: URL(fileURLWithPath: weights))))
        var tensors = file.tensors.values.sorted { $0.name < $1.name }.map { (name: "_orig_mod." + $0.name, shape: $0.shape, values: $0.values) }
        let wte = file.tensors["transformer.wte.weight"]!
        tensors.append(("_orig_mod.lm_head.weight", wte.shape, wte.values))
        tensors.append(("_orig_mod.transformer.h.0.attn.bias", [1, 1, context, context], [Float](repeating: 1, count: context * context)))
        try Data(safetensors(tensors)).write(to: URL(fileURLWithPath: dir + "/nanogpt.safetensors"))
        let saved = try exportTool(["convert", dir + "/nanogpt.safetensors", "--arch", arch, "--vocab-from", dir + "/text.txt", "-o", dir + "/gpt2.bin"])
        #expect(saved.status == 0, "\(saved.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: dir + "/gpt2.bin")) == Data(contentsOf: URL(fileURLWithPath: dir + "/gpt.bin")))

        // Refusals, each naming what is wrong, and no file written.
        var untied = tensors
        untied[untied.count - 2].values[0] += 1
        try Data(safetensors(untied)).write(to: URL(fileURLWithPath: dir + "/untied.safetensors"))
        try Data(Array("abc".utf8)).write(to: URL(fileURLWithPath: dir + "/small.txt"))
        let cases: [([String], String)] = [
            (["convert", weights, "--arch", arch, "-o", dir + "/x.bin"], "--vocab-from"),
            (["convert", weights, "--arch", "gpt:layers=2,heads=2", "--vocab-from", dir + "/text.txt", "-o", dir + "/x.bin"], "--arch must look like"),
            (["convert", weights, "--arch", arch.replacingOccurrences(of: "layers=2", with: "layers=3"), "--vocab-from", dir + "/text.txt", "-o", dir + "/x.bin"],
             "no tensor transformer.h.2"),
            (["convert", weights, "--arch", arch.replacingOccurrences(of: "layers=2", with: "layers=1"), "--vocab-from", dir + "/text.txt", "-o", dir + "/x.bin"],
             "tensors the GPT does not use: transformer.h.1"),
            (["convert", weights, "--arch", arch.replacingOccurrences(of: "context=\(context)", with: "context=8"), "--vocab-from", dir + "/text.txt", "-o", dir + "/x.bin"],
             "transformer.wpe.weight has shape"),
            (["convert", weights, "--arch", arch, "--vocab-from", dir + "/small.txt", "-o", dir + "/x.bin"], "a vocabulary of 3 bytes"),
            (["convert", dir + "/untied.safetensors", "--arch", arch, "--vocab-from", dir + "/text.txt", "-o", dir + "/x.bin"], "lm_head.weight differs"),
            (["convert", weights, "--arch", "mlp:784,10", "--vocab-from", dir + "/text.txt", "-o", dir + "/x.bin"], "--vocab-from is for"),
        ]
        for (arguments, expected) in cases {
            let r = try exportTool(arguments)
            #expect(r.status != 0, "\(arguments) succeeded")
            #expect(r.stderr.contains(expected), "\(arguments): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.bin"))
    }

    /// The validation loss `export-tool verify` computes through infer_next equals the trainer's
    /// `windowLoss` on the same text (every window of the last 10%).
    @Test func verifyGivesTheTrainersValidationLoss() throws {
        let dir = NSTemporaryDirectory() + "gpt-verify-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let (trainer, corpus) = try GPTRuntimeTests.trained(biases: true, sinusoidal: false)
        try Data(ModelWriter.encode(gpt: trainer, vocabulary: corpus.vocabulary)).write(to: URL(fileURLWithPath: dir + "/gpt.bin"))
        try Data(GPTRuntimeTests.text).write(to: URL(fileURLWithPath: dir + "/input.txt"))
        let expected = corpus.validation.withUnsafeBufferPointer { trainer.windowLoss($0) }
        let windows = (corpus.validation.count - 1) / trainer.gpt.config.context
        #expect(expected.isFinite && windows >= 5)

        let r = try exportTool(["verify", dir + "/gpt.bin", "--data", dir, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        #expect(object["windows"] as? Int == windows)
        let loss = try #require(object["val_loss"] as? Double)
        #expect(abs(loss - expected) < 1e-5 * max(1, expected), "C \(loss), Swift \(expected)")
        // A limit scores the first windows only, as windowLoss(limit:) does.
        let limited = try exportTool(["verify", dir + "/gpt.bin", "--text", dir + "/input.txt", "--limit", "2", "--json"])
        let first = corpus.validation.withUnsafeBufferPointer { trainer.windowLoss($0, limit: 2) }
        let limitedLoss = (try JSONSerialization.jsonObject(with: Data(limited.stdout.utf8)) as? [String: Any])?["val_loss"] as? Double
        #expect(limitedLoss.map { abs($0 - first) < 1e-5 * max(1, first) } == true, "\(limited.stdout) \(limited.stderr) vs \(first)")
        #expect(abs(first - expected) > 1e-6, "two windows and all windows should differ")
        let missing = try exportTool(["verify", dir + "/gpt.bin", "--data", dir + "/absent"])
        #expect(missing.status != 0 && missing.stderr.contains("absent/input.txt"), "\(missing.stderr)")
    }
}
