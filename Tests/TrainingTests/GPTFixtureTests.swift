import Testing
import Foundation
import Graph
import InferTools
import LowLevel
import Training

/// The GPT graph against PyTorch (llm.c's check): the tiny nanoGPT-layout model in
/// ../shared/fixtures/gpt-pytorch (GPT_FIXTURE_DIR overrides) gives the same logits, loss and
/// gradients of every parameter for its batch, and the same losses over five AdamW steps.
@Suite struct GPTFixtureTests {
    static let directory: String = ProcessInfo.processInfo.environment["GPT_FIXTURE_DIR"].flatMap { $0.isEmpty ? nil : $0 }
        ?? packageRoot.deletingLastPathComponent().appendingPathComponent("shared/fixtures/gpt-pytorch").path
    static let present = FileManager.default.fileExists(atPath: directory + "/reference.json")

    struct Fixture {
        let gpt: GPTGraph
        let run: GraphExecutor
        let reference: [String: Any]
        let gradients: Safetensors
        let batch: Int
    }

    static func load() throws -> Fixture {
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: directory + "/reference.json"))) as! [String: Any]
        let c = reference["config"] as! [String: Any]
        let config = GPTConfig(vocabulary: c["vocab"] as! Int, layers: c["layers"] as! Int, heads: c["heads"] as! Int,
                               width: c["width"] as! Int, context: c["context"] as! Int)
        let batch = c["batch"] as! Int
        let gpt = try GPTGraph(config)
        let run = try makeTrainingExecutor(gpt.graph, PlanOptions(.training, maxBatch: batch, seeds: [gpt.loss]))
        let weights = try Safetensors(bytes: [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/weights.safetensors"))))
        let gradients = try Safetensors(bytes: [UInt8](Data(contentsOf: URL(fileURLWithPath: directory + "/gradients.safetensors"))))
        #expect(weights.tensors.count == gpt.graph.parameters.count, "every parameter has a tensor and no more")
        for id in gpt.graph.parameters {
            let name = gpt.graph.values[id.index].name
            let tensor = try #require(weights.tensors[name], "no tensor \(name)")
            #expect(tensor.shape == gpt.graph.type(of: id).shape, "\(name): \(tensor.shape)")
            _ = run.view(of: id).update(fromContentsOf: tensor.values)
        }
        let inputs = (reference["inputs"] as! [[Int]]).flatMap { $0 }, targets = (reference["targets"] as! [[Int]]).flatMap { $0 }
        let tokens = run.intView(of: gpt.tokens), next = run.intView(of: gpt.targets)
        for i in inputs.indices { tokens[i] = Int32(inputs[i]); next[i] = Int32(targets[i]) }
        return Fixture(gpt: gpt, run: run, reference: reference, gradients: gradients, batch: batch)
    }

    @Test(.enabled(if: present, "the GPT fixture is not at ../shared/fixtures/gpt-pytorch (set GPT_FIXTURE_DIR)"))
    func logitsLossAndGradientsMatchPyTorch() throws {
        let f = try Self.load()
        f.run.forward(training: true)
        let loss = Double(f.run.view(of: f.gpt.loss)[0])
        #expect(abs(loss - (f.reference["loss"] as! Double)) < 1e-4, "loss \(loss)")
        let expected = (f.reference["logits"] as! [[[Double]]]).flatMap { $0 }.flatMap { $0 }
        let logits = f.run.view(of: f.gpt.logits)
        #expect(logits.count == expected.count)
        let worst = zip(logits, expected).map { abs(Double($0) - $1) }.max() ?? .infinity
        #expect(worst < 1e-4, "largest logit difference \(worst)")

        f.run.backward(from: f.gpt.loss)
        for id in f.gpt.graph.parameters {
            let name = f.gpt.graph.values[id.index].name
            let reference = try #require(f.gradients.tensors[name]).values
            let gradient = f.run.gradient(of: id)
            let scale = reference.map { abs($0) }.max() ?? 1
            for (a, b) in zip(gradient, reference) {
                #expect(abs(a - b) <= 1e-3 * max(scale, 1e-6) + 1e-6, "\(name): \(a) vs \(b)")
            }
        }
    }

    @Test(.enabled(if: present, "the GPT fixture is not at ../shared/fixtures/gpt-pytorch (set GPT_FIXTURE_DIR)"))
    func fiveAdamWStepsMatchPyTorch() throws {
        let f = try Self.load()
        let settings = f.reference["adamw"] as! [String: Any]
        let expected = settings["losses_before_each_step"] as! [Double]
        let betas = settings["betas"] as! [Double]
        let lr = Float(settings["lr"] as! Double), decay = Float(settings["weight_decay"] as! Double), epsilon = Float(settings["eps"] as! Double)
        let parameters = f.gpt.graph.parameters
        let moments = parameters.map { id in (first: [Float](repeating: 0, count: f.run.view(of: id).count), second: [Float](repeating: 0, count: f.run.view(of: id).count)) }
        var firstMoments = moments.map(\.first), secondMoments = moments.map(\.second)
        for (step, target) in expected.enumerated() {
            f.run.forward(training: true)
            let loss = Double(f.run.view(of: f.gpt.loss)[0])
            #expect(abs(loss - target) < 2e-4, "step \(step): loss \(loss), PyTorch \(target)")
            f.run.backward(from: f.gpt.loss)
            for (i, id) in parameters.enumerated() {
                let w = f.run.view(of: id), g = f.run.gradient(of: id)
                firstMoments[i].withUnsafeMutableBufferPointer { m in
                    secondMoments[i].withUnsafeMutableBufferPointer { s in
                        // The fixture decays every parameter (PyTorch's default parameter group).
                        Kernels.adamWUpdate(w.baseAddress!, gradient: g.baseAddress!, firstMoment: m.baseAddress!, secondMoment: s.baseAddress!,
                                            learningRate: lr, beta1: Float(betas[0]), beta2: Float(betas[1]), epsilon: epsilon,
                                            decay: decay, step: step + 1, count: w.count)
                    }
                }
            }
        }
    }
}
