import Infer
import ModelFile
import LowLevel

// The C interface declared in include/infer.h. Every entry point validates its arguments and
// returns a status instead of trapping: a Swift trap would kill the host process.
// Status values are those of `infer_status` (InferStatus); the opaque `infer_model *` is a
// pointer to a RuntimeModel inside the caller's arena.

@inline(__always)
func model(_ pointer: OpaquePointer?) -> UnsafeMutablePointer<RuntimeModel>? {
    guard let pointer else { return nil }
    let typed = UnsafeMutablePointer<RuntimeModel>(pointer)
    return typed.pointee.isOpen ? typed : nil
}

func argumentError(_ text: StaticString) -> Int32 {
    var m = ErrorMessage(); m.append(text)
    return InferStatus.argument.rawValue
}

@_cdecl("infer_status_string")
public func infer_status_string(_ status: Int32) -> UnsafePointer<CChar> {
    let summary = InferStatus(rawValue: status)?.summary ?? "unknown status"
    return UnsafeRawPointer(summary.utf8Start).assumingMemoryBound(to: CChar.self)
}

@_cdecl("infer_last_error")
public func infer_last_error() -> UnsafePointer<CChar> {
    ErrorMessage.current
}

@_cdecl("infer_arena_size")
public func infer_arena_size(_ bytes: UnsafeRawPointer?, _ length: Int, _ arenaLength: UnsafeMutablePointer<Int>?) -> Int32 {
    ErrorMessage.clear()
    guard let bytes, let arenaLength else { return argumentError("model and arena_len must not be NULL") }
    do {
        let file = try ModelFile(base: bytes, length: length)
        arenaLength.pointee = RuntimeModel.arenaBytes(for: file)
        return InferStatus.ok.rawValue
    } catch {
        return error.rawValue
    }
}

/// Done once, by the first infer_open of a model with matrix products (sequence models): OpenBLAS's
/// best kernel for this CPU (0.3.21 falls back to SSE3 kernels on recent Xeons), and one BLAS
/// thread, because OpenBLAS's threaded calls allocate (12 malloc calls per generated token
/// were measured with its default of one thread per core).
private let blasForInference: Void = BLAS.configure(threads: 1)

@_cdecl("infer_open")
public func infer_open(_ bytes: UnsafeRawPointer?, _ length: Int, _ arena: UnsafeMutableRawPointer?, _ arenaLength: Int,
                       _ out: UnsafeMutablePointer<OpaquePointer?>?) -> Int32 {
    ErrorMessage.clear()
    guard let out else { return argumentError("out must not be NULL") }
    out.pointee = nil
    guard let bytes, let arena else { return argumentError("model and arena must not be NULL") }
    do {
        let file = try ModelFile(base: bytes, length: length)
        out.pointee = OpaquePointer(try RuntimeModel.open(file, arena: arena, length: arenaLength))
        if file.graph != nil, (0..<file.layerCount).contains(where: { file.node($0).op == .matmul }) { _ = blasForInference }
        return InferStatus.ok.rawValue
    } catch {
        return error.rawValue
    }
}

@_cdecl("infer_input_len")
public func infer_input_len(_ handle: OpaquePointer?) -> Int {
    model(handle)?.pointee.inputLength ?? 0
}

@_cdecl("infer_output_len")
public func infer_output_len(_ handle: OpaquePointer?) -> Int {
    model(handle)?.pointee.outputLength ?? 0
}

@_cdecl("infer_output_kind")
public func infer_output_kind(_ handle: OpaquePointer?) -> Int32 {
    guard let m = model(handle) else { return -1 }
    return Int32(m.pointee.file.outputKind.rawValue)
}

@_cdecl("infer_run")
public func infer_run(_ handle: OpaquePointer?, _ input: UnsafePointer<Float>?, _ inputLength: Int,
                      _ output: UnsafeMutablePointer<Float>?, _ outputLength: Int) -> Int32 {
    guard let m = model(handle) else { return argumentError("model is NULL or not open") }
    guard let input, let output else { return argumentError("input and output must not be NULL") }
    guard !m.pointee.file.inputIsTokens else {
        var e = ErrorMessage()
        e.append("this is a sequence model: its input is token ids, not floats")
        return InferStatus.shape.rawValue
    }
    guard inputLength == m.pointee.inputLength, outputLength == m.pointee.outputLength else {
        var e = ErrorMessage()
        e.append("the model takes "); e.append(m.pointee.inputLength); e.append(" inputs and gives ")
        e.append(m.pointee.outputLength); e.append(" outputs; input_len "); e.append(inputLength)
        e.append(" and output_len "); e.append(outputLength); e.append(" were given")
        return InferStatus.shape.rawValue
    }
    let result = m.pointee.run(input)
    output.update(from: result, count: outputLength)
    return InferStatus.ok.rawValue
}

private func classify(_ handle: OpaquePointer?, _ source: RuntimeModel.PNGSource, _ label: UnsafeMutablePointer<Int32>?,
                      _ probabilities: UnsafeMutablePointer<Float>?, _ probabilitiesLength: Int) -> Int32 {
    guard let m = model(handle) else { return argumentError("model is NULL or not open") }
    guard let label else { return argumentError("label must not be NULL") }
    guard probabilitiesLength == 0 || (probabilities != nil && probabilitiesLength == m.pointee.outputLength) else {
        var e = ErrorMessage()
        e.append("probs_len must be 0 or the model's "); e.append(m.pointee.outputLength); e.append(" outputs (with probs not NULL), not ")
        e.append(probabilitiesLength)
        return probabilities == nil ? InferStatus.argument.rawValue : InferStatus.shape.rawValue
    }
    do {
        let result = try m.pointee.classifyPNG(source)
        label.pointee = Int32(m.pointee.argmax(result))
        if let probabilities, probabilitiesLength > 0 { probabilities.update(from: result, count: probabilitiesLength) }
        return InferStatus.ok.rawValue
    } catch {
        return error.rawValue
    }
}

@_cdecl("infer_classify_png")
public func infer_classify_png(_ handle: OpaquePointer?, _ path: UnsafePointer<CChar>?, _ label: UnsafeMutablePointer<Int32>?,
                               _ probabilities: UnsafeMutablePointer<Float>?, _ probabilitiesLength: Int) -> Int32 {
    guard let path else { return argumentError("path must not be NULL") }
    return classify(handle, .file(path), label, probabilities, probabilitiesLength)
}

@_cdecl("infer_classify_png_memory")
public func infer_classify_png_memory(_ handle: OpaquePointer?, _ png: UnsafeRawPointer?, _ length: Int,
                                      _ label: UnsafeMutablePointer<Int32>?, _ probabilities: UnsafeMutablePointer<Float>?,
                                      _ probabilitiesLength: Int) -> Int32 {
    guard let png else { return argumentError("png must not be NULL") }
    guard length >= 0 else { return argumentError("png_len is impossible") }
    return classify(handle, .memory(png, length), label, probabilities, probabilitiesLength)
}
