import Infer
import ModelFile

// include/infer.h's calls for generative models: a sample from a seed (floats or a PNG file) and,
// for models with an exact density, log p(x). Other models return INFER_E_SHAPE. No call allocates.

/// INFER_E_SHAPE, with its message, for a model that draws no samples.
private func notAGenerativeModel() -> Int32 {
    var e = ErrorMessage(); e.append("this model does not draw samples (it is not a generative model)")
    return InferStatus.shape.rawValue
}

@_cdecl("infer_sample")
public func infer_sample(_ handle: OpaquePointer?, _ seed: UInt64, _ output: UnsafeMutablePointer<Float>?, _ outputLength: Int) -> Int32 {
    ErrorMessage.clear()
    guard let m = model(handle) else { return argumentError("model is NULL or not open") }
    guard let output else { return argumentError("out must not be NULL") }
    guard m.pointee.file.isGenerative else { return notAGenerativeModel() }
    do {
        guard outputLength == m.pointee.outputLength else {
            var e = ErrorMessage()
            e.append("a sample has "); e.append(m.pointee.outputLength); e.append(" floats; out_len "); e.append(outputLength)
            e.append(" was given")
            return InferStatus.shape.rawValue
        }
        output.update(from: try m.pointee.sample(seed: seed), count: outputLength)
        return InferStatus.ok.rawValue
    } catch { return error.rawValue }
}

@_cdecl("infer_sample_png")
public func infer_sample_png(_ handle: OpaquePointer?, _ seed: UInt64, _ path: UnsafePointer<CChar>?) -> Int32 {
    ErrorMessage.clear()
    guard let m = model(handle) else { return argumentError("model is NULL or not open") }
    guard let path else { return argumentError("path must not be NULL") }
    guard m.pointee.file.isGenerative else { return notAGenerativeModel() }
    do {
        try m.pointee.samplePNG(seed: seed, path: path)
        return InferStatus.ok.rawValue
    } catch { return error.rawValue }
}

@_cdecl("infer_log_density")
public func infer_log_density(_ handle: OpaquePointer?, _ input: UnsafePointer<Float>?, _ inputLength: Int,
                              _ logDensity: UnsafeMutablePointer<Double>?) -> Int32 {
    ErrorMessage.clear()
    guard let m = model(handle) else { return argumentError("model is NULL or not open") }
    guard let input, let logDensity else { return argumentError("input and log_density must not be NULL") }
    guard m.pointee.file.graph?.density != nil else {
        var e = ErrorMessage(); e.append("this model has no exact density (only normalising flows do)")
        return InferStatus.shape.rawValue
    }
    guard inputLength == m.pointee.inputLength else {
        var e = ErrorMessage()
        e.append("the density takes "); e.append(m.pointee.inputLength); e.append(" floats; input_len "); e.append(inputLength)
        e.append(" was given")
        return InferStatus.shape.rawValue
    }
    do {
        logDensity.pointee = try m.pointee.logDensity(input)
        return InferStatus.ok.rawValue
    } catch { return error.rawValue }
}
