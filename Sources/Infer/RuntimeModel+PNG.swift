import ModelFile
import CPNG
import LowLevel

extension RuntimeModel {
    /// Where PNG bytes come from.
    public enum PNGSource {
        case memory(UnsafeRawPointer, Int)
        case file(UnsafePointer<CChar>)
    }

    /// Decodes a PNG, prepares it as an MNIST-style input and runs the network. Returns the output
    /// (probabilities or scores, outputLength floats in the arena).
    /// Throws `.image` (not a PNG, corrupt, too large), `.io` (file unreadable) or `.shape`
    /// (a model that does not take images).
    public mutating func classifyPNG(_ source: PNGSource) throws(InferStatus) -> UnsafeMutablePointer<Float> {
        var scratch = try imageScratch()
        var target = cpng_target(pixels: scratch.pixels, rows: scratch.rows, max_width: UInt32(Self.maxImageWidth),
                                 max_height: UInt32(Self.maxImageHeight), io_buffer: scratch.readBuffer,
                                 io_capacity: Self.pngReadBufferBytes)
        var result = cpng_result()
        let status: Int32
        switch source {
        case .memory(let bytes, let length):
            status = cpng_decode_memory(bytes, length, &scratch.heap, &target, &result)
        case .file(let path):
            status = cpng_decode_file(path, &scratch.heap, &target, &result)
        }
        image = scratch
        pngHeapHighWater = max(pngHeapHighWater, scratch.heap.high_water)
        guard status == CPNG_OK else {
            var m = ErrorMessage()
            _ = withUnsafePointer(to: &result.message) {
                $0.withMemoryRebound(to: CChar.self, capacity: 200) { m.append(cString: $0) }
            }
            throw status == CPNG_E_IO ? .io : .image
        }
        return prepareAndRun(scratch.pixels, width: Int(result.width), height: Int(result.height), scratch: scratch)
    }

    /// Prepares a grayscale image (`width × height` bytes, row-major, up to the PNG size limits;
    /// overwritten) exactly as `classifyPNG` prepares a decoded PNG, and runs the network.
    /// Throws `.shape` for models that do not take images.
    public mutating func classifyGray(_ pixels: UnsafeMutablePointer<UInt8>, width: Int, height: Int) throws(InferStatus)
        -> UnsafeMutablePointer<Float> {
        let scratch = try imageScratch()
        precondition(width > 0 && height > 0 && width <= Self.maxImageWidth && height <= Self.maxImageHeight)
        return prepareAndRun(pixels, width: width, height: height, scratch: scratch)
    }

    /// The image scratch, or `.shape` (with its message) for a model that does not take images.
    private func imageScratch() throws(InferStatus) -> ImageScratch {
        guard let scratch = image else {
            var m = ErrorMessage(); m.append("this model does not take images (it needs one channel of pixels)")
            throw .shape
        }
        return scratch
    }

    /// The MNIST preparation of gray `pixels` into the input buffer, then the network.
    private func prepareAndRun(_ pixels: UnsafeMutablePointer<UInt8>, width: Int, height: Int,
                               scratch: ImageScratch) -> UnsafeMutablePointer<Float> {
        DigitPreparation.prepare(pixels, width: width, height: height, into: inputSlot, outHeight: file.inputHeight,
                                 outWidth: file.inputWidth, boxSide: scratch.boxSide, rows: scratch.lines)
        return forward(inputSlot)
    }

    /// Runs the network on `input` and returns its output (in the arena).
    public func run(_ input: UnsafePointer<Float>) -> UnsafeMutablePointer<Float> {
        forward(input)
    }

    /// Runs a sequence model (`file.inputIsTokens`) on one window of `inputLength` token ids and
    /// returns its output (for a GPT, the logits at every position), in the arena.
    public func run(tokens: UnsafePointer<Int32>) -> UnsafeMutablePointer<Float> {
        precondition(file.inputIsTokens)
        return forward(tokens)
    }
}
