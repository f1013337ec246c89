import CPNG
import LowLevel
import ModelFile

/// Generative models (`ModelFile.isGenerative`): a latent z ~ N(0, I) drawn from a seed, run
/// through the graph to an image of pixels in [0, 1], optionally written as a PNG. The PNG
/// writer's memory (libpng's heap, the 8-bit pixels, row pointers, the write buffer) is in the
/// arena, so sampling allocates nothing.
extension RuntimeModel {
    /// Bytes of buffered output between write(2) calls.
    public static let pngWriteBufferBytes = 16 * 1024

    struct SampleScratch {
        var heap: cpng_heap
        var pixels: UnsafeMutablePointer<UInt8>
        var rows: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>
        var writeBuffer: UnsafeMutablePointer<UInt8>
        let width: Int
        let height: Int
    }

    /// Height and width of a generative model's image: [1, H, W] or [H, W] output values; a
    /// rank-1 output is one row. nil when the output is not one gray image (several channels).
    public static func sampleImageSize(_ file: ModelFile) -> (height: Int, width: Int)? {
        guard file.isGenerative, let graph = file.graph else { return nil }
        let y = file.value(graph.outputValue)
        switch y.rank {
        case 3 where y.dims.0 == 1: return (y.dims.1, y.dims.2)
        case 2: return (y.dims.0, y.dims.1)
        case 1: return (1, y.dims.0)
        default: return nil
        }
    }

    static func reserveSampling(_ file: ModelFile, _ plan: inout ArenaPlan) {
        guard let (h, w) = sampleImageSize(file), w <= 16384, h <= 16384 else { return }
        plan.reserve(UInt8.self, Int(CPNG_WRITE_HEAP_BYTES))
        plan.reserve(UInt8.self, h * w)
        plan.reserve(UnsafeMutablePointer<UInt8>?.self, h)
        plan.reserve(UInt8.self, pngWriteBufferBytes)
    }

    static func takeSampling(_ file: ModelFile, _ cursor: inout ArenaCursor) -> SampleScratch? {
        guard let (h, w) = sampleImageSize(file), w <= 16384, h <= 16384 else { return nil }
        let heapBytes = Int(CPNG_WRITE_HEAP_BYTES)
        let heap = cpng_heap(base: cursor.take(UInt8.self, heapBytes), capacity: heapBytes, used: 0, high_water: 0, last_offset: 0)
        return SampleScratch(heap: heap, pixels: cursor.take(UInt8.self, h * w), rows: cursor.take(UnsafeMutablePointer<UInt8>?.self, h),
                             writeBuffer: cursor.take(UInt8.self, pngWriteBufferBytes), width: w, height: h)
    }

    /// Draws z ~ N(0, I) from `seed` (`RandomGenerator`, one `nextGaussian` per element in order)
    /// into the input and runs the generator; returns the image (outputLength floats in the
    /// arena). Throws `.shape` for a model that does not sample.
    public func sample(seed: UInt64) throws(InferStatus) -> UnsafeMutablePointer<Float> {
        guard file.isGenerative else {
            var m = ErrorMessage(); m.append("this model does not draw samples (it is not a generative model)")
            throw .shape
        }
        var random = RandomGenerator(seed: seed)
        for i in 0..<inputLength { inputSlot[i] = random.nextGaussian() }
        return forward(inputSlot)
    }

    /// log p(x) in nats of `input` (inputLength floats in [0, 1]) under a model with an exact
    /// density (`GraphSection.density`, a flow): the density's nodes run on a copy of the input in
    /// its slot. Throws `.shape` for other models.
    public func logDensity(_ input: UnsafePointer<Float>) throws(InferStatus) -> Double {
        guard let graph = file.graph, let density = graph.density else {
            var m = ErrorMessage(); m.append("this model has no exact density (only normalising flows do)")
            throw .shape
        }
        guard let (slot, nll) = densitySlots else { throw .shape }
        slot.update(from: input, count: inputLength)
        run(UnsafeRawPointer(slot), nodes: density.nodes)
        return -Double(nll[0])
    }

    /// A pixel in [0, 1] as a byte: round(255·clamp(v)); NaN is 0.
    @inline(__always) public static func byte(_ v: Float) -> UInt8 {
        guard v > 0 else { return 0 }
        return v >= 1 ? 255 : UInt8((v * 255).rounded())
    }

    /// The sample for `seed` written as an 8-bit grayscale PNG at `path` (atomically). Throws
    /// `.shape` (not a generative model, or not one gray image), `.io` (cannot write), `.image`.
    public mutating func samplePNG(seed: UInt64, path: UnsafePointer<CChar>) throws(InferStatus) {
        let image = try sample(seed: seed)
        guard var scratch = sampling else {
            var m = ErrorMessage(); m.append("this model's samples are not one gray image")
            throw .shape
        }
        for i in 0..<(scratch.width * scratch.height) { scratch.pixels[i] = Self.byte(image[i]) }
        var result = cpng_result()
        let status = cpng_encode_gray_file(path, scratch.pixels, UInt32(scratch.width), UInt32(scratch.height), &scratch.heap,
                                           scratch.rows, scratch.writeBuffer, Self.pngWriteBufferBytes, &result)
        pngHeapHighWater = max(pngHeapHighWater, scratch.heap.high_water)
        sampling = scratch
        guard status == CPNG_OK else {
            var m = ErrorMessage()
            _ = withUnsafePointer(to: &result.message) {
                $0.withMemoryRebound(to: CChar.self, capacity: 200) { m.append(cString: $0) }
            }
            throw status == CPNG_E_IO ? .io : .image
        }
    }
}
