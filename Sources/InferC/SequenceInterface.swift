import Infer
import ModelFile

// include/infer.h's calls for sequence models (a GPT file with its vocabulary). Other models
// return INFER_E_SHAPE from them. All state lives in the model's arena; no call allocates.

/// INFER_E_SHAPE, with its message, for a model that is not a sequence model.
private func notASequenceModel() -> Int32 {
    var e = ErrorMessage(); e.append("this model is not a sequence model (it has no vocabulary)")
    return InferStatus.shape.rawValue
}

@_cdecl("infer_vocab_len")
public func infer_vocab_len(_ handle: OpaquePointer?) -> Int {
    model(handle)?.pointee.vocabularyLength ?? 0
}

@_cdecl("infer_context_len")
public func infer_context_len(_ handle: OpaquePointer?) -> Int {
    model(handle)?.pointee.contextLength ?? 0
}

@_cdecl("infer_tokenize")
public func infer_tokenize(_ handle: OpaquePointer?, _ text: UnsafePointer<CChar>?, _ textLength: Int,
                           _ tokens: UnsafeMutablePointer<Int32>?, _ capacity: Int, _ count: UnsafeMutablePointer<Int>?) -> Int32 {
    ErrorMessage.clear()
    guard let m = model(handle) else { return argumentError("model is NULL or not open") }
    guard let count, textLength >= 0, capacity >= 0, textLength == 0 || (text != nil && tokens != nil) else {
        var e = ErrorMessage(); e.append("text and tokens must not be NULL (unless text_len is 0), nor n_tokens")
        return InferStatus.argument.rawValue
    }
    guard m.pointee.vocabularyLength > 0 else { return notASequenceModel() }
    guard textLength > 0, let text, let tokens else { count.pointee = 0; return InferStatus.ok.rawValue }
    do {
        count.pointee = try m.pointee.tokenize(UnsafeRawPointer(text).assumingMemoryBound(to: UInt8.self), count: textLength,
                                               into: tokens, capacity: capacity)
        return InferStatus.ok.rawValue
    } catch { return error.rawValue }
}

@_cdecl("infer_reset")
public func infer_reset(_ handle: OpaquePointer?) -> Int32 {
    ErrorMessage.clear()
    guard let m = model(handle) else { return argumentError("model is NULL or not open") }
    do { try m.pointee.reset(); return InferStatus.ok.rawValue } catch { return error.rawValue }
}

@_cdecl("infer_next")
public func infer_next(_ handle: OpaquePointer?, _ token: Int32, _ probabilities: UnsafeMutablePointer<Float>?, _ length: Int) -> Int32 {
    ErrorMessage.clear()
    guard let m = model(handle) else { return argumentError("model is NULL or not open") }
    guard m.pointee.vocabularyLength > 0 else { return notASequenceModel() }
    guard let probabilities, length == m.pointee.vocabularyLength else {
        var e = ErrorMessage(); e.append("probs must hold infer_vocab_len ("); e.append(m.pointee.vocabularyLength)
        e.append(") floats; probs_len "); e.append(length); e.append(" was given")
        return InferStatus.shape.rawValue
    }
    do {
        probabilities.update(from: try m.pointee.next(token), count: length)
        return InferStatus.ok.rawValue
    } catch { return error.rawValue }
}

@_cdecl("infer_generate")
public func infer_generate(_ handle: OpaquePointer?, _ prompt: UnsafePointer<CChar>?, _ promptLength: Int, _ newBytes: Int,
                           _ temperature: Float, _ topK: Int32, _ seed: UInt64, _ output: UnsafeMutablePointer<CChar>?,
                           _ capacity: Int, _ written: UnsafeMutablePointer<Int>?) -> Int32 {
    ErrorMessage.clear()
    guard let m = model(handle) else { return argumentError("model is NULL or not open") }
    guard m.pointee.vocabularyLength > 0 else { return notASequenceModel() }
    guard let prompt, let written, newBytes >= 0, promptLength >= 0, newBytes == 0 || output != nil else {
        var e = ErrorMessage(); e.append("prompt, out and out_len must not be NULL")
        return InferStatus.argument.rawValue
    }
    guard capacity >= newBytes else {
        var e = ErrorMessage(); e.append("out has room for "); e.append(capacity); e.append(" bytes, max_new is "); e.append(newBytes)
        return InferStatus.argument.rawValue
    }
    do {
        let out = UnsafeMutableRawPointer(output ?? UnsafeMutablePointer(bitPattern: 1)!).assumingMemoryBound(to: UInt8.self)
        try m.pointee.generate(prompt: UnsafeRawPointer(prompt).assumingMemoryBound(to: UInt8.self), count: promptLength,
                               newBytes: newBytes, temperature: temperature, topK: Int(topK), seed: seed, into: out)
        written.pointee = newBytes
        return InferStatus.ok.rawValue
    } catch { return error.rawValue }
}
