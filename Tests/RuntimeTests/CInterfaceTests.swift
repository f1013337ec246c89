import Testing
import Foundation
import Infer
import Training
import ModelFile
import InferTools
import InferC
import LowLevel
import MallocCounter

@Suite(.serialized) struct CInterfaceTests {
    let trained = TrainedModel.shared

    @Test func sameOutputsAndPredictionsAsTheSwiftNetwork() throws {
        let model = try OpenModel(trained.bytes)
        #expect(infer_input_len(model.handle) == 784 && infer_output_len(model.handle) == 10)
        #expect(infer_output_kind(model.handle) == 1)
        for i in 0..<trained.test.count {
            let input = testInput(trained.test, i)
            let (status, output) = model.run(input)
            #expect(status == 0)
            let logits = trained.swiftLogits(input)
            // Identical arithmetic up to the softmax the runtime applies for probability models.
            var expected = logits
            Kernels.softmaxRows(expected, into: &expected, rows: 1, columns: 10)
            #expect(output == expected, "sample \(i)")
            #expect(Kernels.argmax(output, count: 10) == Kernels.argmax(logits, count: 10))
            #expect(abs(output.reduce(0, +) - 1) < 1e-5)
        }
    }

    @Test(arguments: [1, 3, 7]) func modelBytesAtAnyAddress(shift: Int) throws {
        let aligned = try OpenModel(trained.bytes)
        let shifted = try OpenModel(trained.bytes, misalignBy: shift)
        for i in 0..<5 {
            let input = testInput(trained.test, i)
            #expect(aligned.run(input).output == shifted.run(input).output)
        }
    }

    @Test func arenaSizeIsExact() throws {
        try trained.bytes.withUnsafeBytes { model in
            var needed = 0
            #expect(infer_arena_size(model.baseAddress, model.count, &needed) == 0)
            let file = try ModelFile(base: model.baseAddress!, length: model.count)
            #expect(needed == RuntimeModel.arenaBytes(for: file))
            let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: needed, alignment: 64)
            defer { arena.deallocate() }
            var out: OpaquePointer? = OpaquePointer(bitPattern: 1)
            #expect(infer_open(model.baseAddress, model.count, arena.baseAddress, needed - 1, &out) == 4)
            #expect(out == nil)
            let message = String(cString: infer_last_error())
            #expect(message.contains("\(needed) bytes") && message.contains("\(needed - 1) were given") && message.contains("(1 missing)"),
                    "\(message)")
            #expect(infer_open(model.baseAddress, model.count, arena.baseAddress, needed, &out) == 0)
            #expect(out != nil && String(cString: infer_last_error()).isEmpty)
            // Misaligned arena.
            #expect(infer_open(model.baseAddress, model.count, arena.baseAddress! + 4, needed - 4, &out) == 1)
        }
    }

    @Test func nullPointersAndWrongLengthsGetStatuses() throws {
        let model = try OpenModel(trained.bytes)
        var needed = 0
        #expect(infer_arena_size(nil, 10, &needed) == 1)
        #expect(infer_arena_size(trained.bytes, trained.bytes.count, nil) == 1)
        var out: OpaquePointer?
        #expect(infer_open(nil, 0, nil, 0, &out) == 1)
        #expect(infer_open(trained.bytes, trained.bytes.count, nil, 0, nil) == 1)
        let input = [Float](repeating: 0, count: 784)
        var output = [Float](repeating: 0, count: 10)
        #expect(infer_run(nil, input, 784, &output, 10) == 1)
        #expect(infer_run(model.handle, nil, 784, &output, 10) == 1)
        #expect(infer_run(model.handle, input, 784, nil, 10) == 1)
        #expect(infer_run(model.handle, input, 783, &output, 10) == 7)
        #expect(String(cString: infer_last_error()).contains("783"))
        #expect(infer_run(model.handle, input, 784, &output, 9) == 7)
        #expect(infer_input_len(nil) == 0 && infer_output_len(nil) == 0 && infer_output_kind(nil) == -1)
        var label: Int32 = 0
        #expect(infer_classify_png(model.handle, nil, &label, nil, 0) == 1)
        #expect(infer_classify_png(model.handle, "x.png", nil, nil, 0) == 1)
        #expect(infer_classify_png_memory(model.handle, nil, 0, &label, nil, 0) == 1)
        #expect(infer_classify_png(model.handle, fixtures.appendingPathComponent("png/gray8.png").path, &label, &output, 5) == 7)
        for status in Int32(0)...7 { #expect(!String(cString: infer_status_string(status)).isEmpty) }
        #expect(String(cString: infer_status_string(99)) == "unknown status")
    }

    @Test func runAndClassifyAllocateNothing() throws {
        let model = try OpenModel(trained.bytes)
        let input = testInput(trained.test, 0)
        var output = [Float](repeating: 0, count: 10)
        // A C string made up front: passing a Swift String would allocate a temporary copy.
        let path = Array(fixtures.appendingPathComponent("png/gray8.png").path.utf8CString)
        let png = try [UInt8](Data(contentsOf: URL(fileURLWithPath: fixtures.appendingPathComponent("png/large-rgb8.png").path)))
        var label: Int32 = -1
        var status: Int32 = 0
        func work() {
            status |= infer_run(model.handle, input, 784, &output, 10)
            status |= infer_classify_png(model.handle, path, &label, &output, 10)
            status |= infer_classify_png_memory(model.handle, png, png.count, &label, &output, 10)
            status |= infer_classify_png_memory(model.handle, png, png.count, &label, nil, 0)
        }
        work() // warm-up
        malloc_counter_start()
        for _ in 0..<50 { work() }
        let calls = malloc_counter_stop()
        #expect(status == 0)
        #expect(calls == 0, "\(calls) heap allocations in 200 C calls")
    }

    /// A model imported from safetensors (written by the real `safetensors` package) gives the
    /// source framework's outputs within 1e-5.
    @Test func safetensorsImportMatchesTheSourceFramework() throws {
        let bytes = try [UInt8](Data(contentsOf: fixtures.appendingPathComponent("mlp_784_16_10.safetensors")))
        let file = try Safetensors(bytes: bytes)
        #expect(file.metadata["source"] == "numpy")
        let (spec, tensors) = try file.mlp(widths: [784, 16, 10], activation: .relu)
        let model = try OpenModel(try ModelWriter.encode(spec: spec, tensors: tensors,
                                                         description: .init(inputShape: (1, 28, 28), outputKind: .probabilities, inputEncoding: .pixels)))
        let reference = try JSONSerialization.jsonObject(with: Data(contentsOf: fixtures.appendingPathComponent("mlp_784_16_10.reference.json"))) as! [String: Any]
        let inputs = (reference["inputs"] as! [[Double]]).map { $0.map(Float.init) }
        let expected = (reference["probabilities"] as! [[Double]]).map { $0.map(Float.init) }
        #expect(inputs.count == 5)
        for (input, probabilities) in zip(inputs, expected) {
            let (status, output) = model.run(input)
            #expect(status == 0)
            for k in 0..<10 { #expect(abs(output[k] - probabilities[k]) <= 1e-5, "\(output[k]) vs \(probabilities[k])") }
        }
        // Wrong architecture: a clear error.
        #expect(throws: SafetensorsError.self) { try file.mlp(widths: [784, 32, 10], activation: .relu) }
        #expect(throws: SafetensorsError.self) { try file.mlp(widths: [784, 16, 8, 10], activation: .relu) }
        #expect(throws: SafetensorsError.self) { try Safetensors(bytes: Array(bytes.prefix(100))) }
    }

    /// Accuracy through the C interface equals the Swift model's, with identical predictions, on
    /// the whole test set (full MNIST when MNIST_DIR is set, else the bundled sample).
    @Test func mnistPredictionsThroughCEqualSwift() throws {
        let test = try mnistDirectory.map { ClassificationSet(images: try MNISTDataset(directory: $0).test) } ?? trained.test
        let model = try OpenModel(trained.bytes)
        var agree = 0, correctC = 0, correctSwift = 0
        for i in 0..<test.count {
            let input = testInput(test, i)
            let c = Kernels.argmax(model.run(input).output, count: 10)
            let s = Kernels.argmax(trained.swiftLogits(input), count: 10)
            if c == s { agree += 1 }
            if c == Int(test.labels[i]) { correctC += 1 }
            if s == Int(test.labels[i]) { correctSwift += 1 }
        }
        #expect(agree == test.count)
        #expect(correctC == correctSwift)
        #expect(Double(correctC) / Double(test.count) > 0.8)
    }
}

import MNIST

@Suite struct ConcurrencyTests {
    /// Two models from the same bytes, in separate arenas, run at the same time on two threads and
    /// give the single-threaded results.
    @Test func separateArenasRunConcurrently() throws {
        let trained = TrainedModel.shared
        let models = [try OpenModel(trained.bytes), try OpenModel(trained.bytes)]
        let inputs = (0..<50).map { testInput(trained.test, $0) }
        let expected = inputs.map { models[0].run($0).output }
        nonisolated(unsafe) var results = [[[Float]]](repeating: [], count: 2)
        DispatchQueue.concurrentPerform(iterations: 2) { t in
            var mine: [[Float]] = []
            for _ in 0..<20 { mine = inputs.map { models[t].run($0).output } }
            results[t] = mine
        }
        #expect(results[0] == expected)
        #expect(results[1] == expected)
    }
}
