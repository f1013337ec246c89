import Infer
import InferC
import LowLevel
import ModelFile
import Training
import CZlib
import Arena

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
        // scripts/fuzz.sh asks for this model file as the model target's seed.
        if let out = fopen(seedPath, "wb") { fwrite(bytes.baseAddress, 1, file.count, out); fclose(out) }
    }
    return (bytes, space, handle!)
}()

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
    precondition(infer_run(handle, x, inputs, y, outputs) == 0)
    return 0
}


#if canImport(Glibc)
import Glibc
#endif
