import Infer
import InferC
import LowLevel
import ModelFile
import Training
import CZlib
import Arena
import Graph

// libFuzzer entry point for the C interface's two input paths. FUZZ_TARGET chooses:
//   model: the bytes are a model file: infer_arena_size, infer_open, infer_run
//   png:   the bytes are a PNG given to infer_classify_png_memory of a small image model
// Built by scripts/fuzz.sh with `swift build --sanitize fuzzer --sanitize address`.

private let target: String = {
    guard let value = getenv("FUZZ_TARGET") else { return "model" }
    return String(cString: value)
}()

/// A 784-8-10 model with random weights, opened once, for the PNG target.
nonisolated(unsafe) private let imageModel: (bytes: UnsafeMutableRawBufferPointer, arena: UnsafeMutableRawBufferPointer, handle: OpaquePointer) = {
    let arena = try! Arena.ArenaAllocator(capacity: 1 << 20)
    var rng = RandomGenerator(seed: 1)
    let network = try! Network(spec: .mlp(inputs: 784, hidden: [8], outputs: 10), maxBatch: 1, arena: arena, rng: &rng)
    let file = try! ModelWriter.encode(network: network, inputShape: (1, 28, 28), inputEncoding: .pixels)
    let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: file.count, alignment: 64)
    file.withUnsafeBytes { bytes.copyMemory(from: $0) }
    var needed = 0
    precondition(infer_arena_size(bytes.baseAddress, file.count, &needed) == 0)
    let space = UnsafeMutableRawBufferPointer.allocate(byteCount: needed, alignment: 64)
    var handle: OpaquePointer?
    precondition(infer_open(bytes.baseAddress, file.count, space.baseAddress, needed, &handle) == 0)
    if let seedPath = getenv("FUZZ_WRITE_SEED") {
        // scripts/fuzz.sh asks for the model target's seeds: this model (version 2), the same as
        // version 1, a graph with a residual addition and a reshape, and a classic chain.
        let prefix = String(cString: seedPath)
        writeSeed(file, to: prefix + "-mlp-v2.bin")
        writeSeed(try! ModelWriter.encode(network: network, inputShape: (1, 28, 28), inputEncoding: .pixels, version: 1),
                  to: prefix + "-mlp-v1.bin")
        writeSeed(residualModel(), to: prefix + "-residual-v2.bin")
        writeSeed(transformerModel(), to: prefix + "-gpt-v2.bin")
        writeSeed(try! ModelWriter.encode(stages: [
            .affine(scale: [2, 1, 1], shift: [0, -1, 0]),
            .kernel(.gaussian(sigma: 2), points: [0, 0, 1, 0, 0, 1, 1, 1, 0], count: 3, dimension: 3),
            .dense(weight: [1, 1, 0, -1, 0, 1, 0, -1, -1], bias: [0, 0, 0.1], inputs: 3, outputs: 3),
            .pairwiseVote(classes: 3),
        ], description: .init(inputShape: (1, 1, 3), outputKind: .scores, inputEncoding: .floats)), to: prefix + "-kernel-v2.bin")
        writeSeed(try! ModelWriter.encode(stages: [
            .nearestNeighbours(points: [0, 0, 1, 0, 5, 5, 1, 1], targets: [0, 1, 2, 1], count: 4, dimension: 2, k: 3, metric: .l1,
                               mode: .classify(classes: 3)),
        ], description: .init(inputShape: (1, 1, 2), outputKind: .scores, inputEncoding: .floats)), to: prefix + "-knn-v2.bin")
    }
    return (bytes, space, handle!)
}()

private func writeSeed(_ bytes: [UInt8], to path: String) {
    guard let out = fopen(path, "wb") else { return }
    _ = bytes.withUnsafeBytes { fwrite($0.baseAddress, 1, $0.count, out) }
    fclose(out)
}

/// x [1, 4, 4] → conv 3×3 (pad 1, ReLU) → + x → max pool 2×2 → flatten → dense 4 → tanh.
private func residualModel() -> [UInt8] {
    let g = GraphBuilder()
    let x = g.input("x", shape: [1, 4, 4])
    let c = try! g.conv2d(x, Conv2DSpec(filters: 1, kernel: (3, 3), stride: (1, 1), padding: (1, 1)), name: "conv")
    let r = try! g.add(try! g.relu(c, name: "act"), x, name: "residual")
    let p = try! g.reshape(try! g.maxPool2d(r, PoolSpec(window: (2, 2), stride: (2, 2)), name: "pool"), to: [4], name: "flat")
    g.output(try! g.tanh(try! g.dense(p, outputs: 4, name: "fc"), name: "out"))
    let graph = try! g.build()
    var values: TensorValues = [:]
    var rng = RandomGenerator(seed: 2)
    for id in graph.parameters { values[id.index] = (0..<graph.type(of: id).elementsPerSample).map { _ in rng.nextUniform() - 0.5 } }
    return try! ModelWriter.encodeGraph(graph, values: values, description: .init(inputShape: (1, 4, 4), outputKind: .values,
                                                                                  inputEncoding: .floats))
}

/// A tiny GPT (2 blocks, width 8, context 4) with random weights: embeddings, layer norms,
/// products, slices, attention, GELU.
private func transformerModel() -> [UInt8] {
    let (graph, _, _) = try! GPTGraph.inference(GPTConfig(vocabulary: 5, layers: 2, heads: 2, width: 8, context: 4))
    var values: TensorValues = [:]
    var rng = RandomGenerator(seed: 3)
    for id in graph.parameters { values[id.index] = (0..<graph.type(of: id).elementsPerSample).map { _ in rng.nextUniform() - 0.5 } }
    return try! ModelWriter.encodeGraph(graph, values: values, description: .init(inputShape: (1, 1, 4), outputKind: .values,
                                                                                  inputEncoding: .floats))
}

@_cdecl("LLVMFuzzerInitialize")
public func fuzzInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>) -> Int32 {
    _ = imageModel
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> Int32 {
    if target == "png" {
        var label: Int32 = 0
        var probabilities = (Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0), Float(0))
        let status = withUnsafeMutableBytes(of: &probabilities) {
            infer_classify_png_memory(imageModel.handle, data, size, &label, $0.baseAddress!.assumingMemoryBound(to: Float.self), 10)
        }
        precondition(status == 0 || status == 6, "unexpected status \(status) for a PNG")
        if status == 0 { precondition(label >= 0 && label < 10) }
        return 0
    }
    // The model bytes are copied to an exactly sized buffer so ASan sees any read past the end.
    let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(size, 1), alignment: 64)
    defer { bytes.deallocate() }
    bytes.copyMemory(from: UnsafeRawBufferPointer(start: data, count: size))
    // Re-seal the checksum, or nearly every mutation would stop at the CRC check and the
    // structural validation behind it would go unexplored.
    if size >= 8 {
        let crc = UInt32(crc32_z(0, bytes.baseAddress!.assumingMemoryBound(to: UInt8.self), size - 4))
        bytes.storeBytes(of: crc.littleEndian, toByteOffset: size - 4, as: UInt32.self)
    }
    var needed = 0
    let sizing = infer_arena_size(bytes.baseAddress, size, &needed)
    guard sizing == 0, needed <= 64 << 20 else { return 0 }
    let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: max(needed, 16), alignment: 64)
    defer { arena.deallocate() }
    var handle: OpaquePointer?
    precondition(infer_open(bytes.baseAddress, size, arena.baseAddress, needed, &handle) == 0, "sized but did not open")
    let inputs = infer_input_len(handle), outputs = infer_output_len(handle)
    guard inputs <= 1 << 20, outputs <= 1 << 20 else { return 0 }
    let x = UnsafeMutablePointer<Float>.allocate(capacity: max(inputs, 1))
    let y = UnsafeMutablePointer<Float>.allocate(capacity: max(outputs, 1))
    defer { x.deallocate(); y.deallocate() }
    x.initialize(repeating: 0.5, count: inputs)
    let model = UnsafeMutablePointer<RuntimeModel>(handle!)
    if model.pointee.file.inputIsTokens {
        // A sequence model: token ids in (every id, in range or not), not floats.
        precondition(infer_run(handle, x, inputs, y, outputs) == 7)
        let ids = UnsafeMutableRawPointer(x).bindMemory(to: Int32.self, capacity: inputs)
        for i in 0..<inputs { ids[i] = Int32(truncatingIfNeeded: i &* 7 &- 3) }
        _ = model.pointee.run(tokens: ids)
    } else {
        precondition(infer_run(handle, x, inputs, y, outputs) == 0)
    }
    return 0
}


#if canImport(Glibc)
import Glibc
#endif
