import LowLevel
import ModelFile

/// Text generation for sequence models (a GPT file with a vocabulary): the tokens so far, the
/// next token's probabilities, and sampling with `Kernels.pickToken`. All state lives in the arena.
///
/// Two regimes. While the sequence fits in the context, a causal model is decoded one position
/// at a time with its keys and values cached (`RuntimeModel+Decoding`): one row of every product
/// per token. Past the context the model runs on the last `contextLength` tokens (nanoGPT's
/// cropping; learned or sinusoidal positions shift, so nothing cached still applies), padded with
/// token 0 as `GPTTrainer.generate` pads. Only the last position's logits are read, so in a
/// model decoded by position the window runs whole up to the last attention step (whose keys and
/// values need every row) and from there only its last row: the last block's attention, MLP and
/// the head for one row instead of T, the same logits up to the row products' rounding. Models
/// that cannot be decoded by position (no causal mask) always run the whole window.
extension RuntimeModel {
    /// The arena part of a sequence model: the window of token ids, the probabilities of the
    /// next token, and the byte ↔ token maps.
    struct SequenceState {
        var window: UnsafeMutablePointer<Int32>
        var probabilities: UnsafeMutablePointer<Float>
        var tokenOfByte: UnsafeMutablePointer<Int16>
        var byteOfToken: UnsafeMutablePointer<UInt8>
        var vocabulary: Int
        var context: Int
        /// Tokens fed since the last reset (the window holds the last `context` of them).
        var length = 0
        /// Whether the model is decoded by position with cached keys and values.
        var decodesByPosition: Bool
        /// Positions whose keys and values are in the cache (≤ `length`).
        var cachedPositions = 0
        /// In a model decoded by position, the index of its last attention step.
        var lastAttention: Int? = nil
    }

    /// Token ids the model knows (0 for models that are not sequence models).
    public var vocabularyLength: Int { sequence?.vocabulary ?? 0 }
    /// Tokens the model attends over (0 for models that are not sequence models).
    public var contextLength: Int { sequence?.context ?? 0 }

    static func reserveSequence(_ file: ModelFile, _ plan: inout ArenaPlan) {
        guard let t = file.vocabularyTensor else { return }
        let v = file.tensor(t).count
        plan.reserve(Int32.self, file.inputLength)
        plan.reserve(Float.self, v)
        plan.reserve(Int16.self, 256)
        plan.reserve(UInt8.self, v)
        guard decodesByPosition(file) else { return }
        for i in 0..<file.layerCount { if let n = cacheFloats(file, node: i) { plan.reserve(Float.self, n) } }
    }

    /// Takes the sequence state and, for a model decoded by position, each attention step's cache.
    static func takeSequence(_ file: ModelFile, layers: UnsafeMutablePointer<Layer>, _ cursor: inout ArenaCursor) -> SequenceState? {
        guard let t = file.vocabularyTensor else { return nil }
        let v = file.tensor(t).count, bytes = file.floats(t)
        let decodes = decodesByPosition(file)
        var state = SequenceState(window: cursor.take(Int32.self, file.inputLength), probabilities: cursor.take(Float.self, v),
                                  tokenOfByte: cursor.take(Int16.self, 256), byteOfToken: cursor.take(UInt8.self, v),
                                  vocabulary: v, context: file.inputLength, decodesByPosition: decodes)
        if decodes {
            for i in 0..<file.layerCount { if let n = cacheFloats(file, node: i) { layers[i].cache = cursor.take(Float.self, n) } }
            state.lastAttention = (0..<file.layerCount).last { file.node($0).op == .attention }
        }
        state.tokenOfByte.initialize(repeating: -1, count: 256)
        for i in 0..<v {
            state.byteOfToken[i] = UInt8(bytes[i])
            state.tokenOfByte[Int(bytes[i])] = Int16(i)
        }
        state.window.initialize(repeating: 0, count: file.inputLength)
        return state
    }

    private func sequenceState() throws(InferStatus) -> SequenceState {
        guard let sequence else {
            var m = ErrorMessage(); m.append("this model is not a sequence model (it has no vocabulary)")
            throw .shape
        }
        return sequence
    }

    /// Writes the token ids of `count` bytes of text; `.argument` for a byte outside the
    /// vocabulary or too little room.
    public func tokenize(_ text: UnsafePointer<UInt8>, count: Int, into tokens: UnsafeMutablePointer<Int32>,
                         capacity: Int) throws(InferStatus) -> Int {
        let s = try sequenceState()
        guard count <= capacity else {
            var m = ErrorMessage(); m.append("the text is "); m.append(count); m.append(" bytes, room for "); m.append(capacity); m.append(" tokens")
            throw .argument
        }
        for i in 0..<count {
            let id = s.tokenOfByte[Int(text[i])]
            guard id >= 0 else {
                var m = ErrorMessage(); m.append("byte "); m.append(Int(text[i])); m.append(" at offset "); m.append(i)
                m.append(" is not in the model's vocabulary")
                throw .argument
            }
            tokens[i] = Int32(id)
        }
        return count
    }

    /// Whether `next` decodes by position from cached keys and values while the sequence fits in
    /// the context (false for models without a causal mask, which rerun the window every token).
    public var cachesKeysAndValues: Bool { sequence?.decodesByPosition ?? false }

    /// Forgets the tokens fed so far (and the cached keys and values).
    public mutating func reset() throws(InferStatus) {
        _ = try sequenceState()
        sequence!.length = 0
        sequence!.cachedPositions = 0
    }

    /// Appends a token to the window (dropping the oldest once it is full); no model run.
    private mutating func append(_ token: Int32) {
        var s = sequence!
        if s.length < s.context {
            s.window[s.length] = token
        } else {
            (s.window).update(from: s.window + 1, count: s.context - 1)
            s.window[s.context - 1] = token
        }
        s.length += 1
        sequence = s
    }

    /// The logits after the last token: decoded from the cache while the sequence fits (each
    /// position not yet cached run in turn), else the model on the window.
    private mutating func lastLogits() -> UnsafeMutablePointer<Float> {
        let s = sequence!
        if s.decodesByPosition && s.length <= s.context {
            var logits = outputSlot
            for position in s.cachedPositions..<s.length { logits = forward(position: position) }
            sequence!.cachedPositions = s.length
            return logits
        }
        let n = min(s.length, s.context)
        for i in n..<s.context { s.window[i] = 0 }
        if s.length > s.context, let last = s.lastAttention {
            run(UnsafeRawPointer(s.window), nodes: 0..<last)
            return forward(row: s.context - 1, nodes: last..<file.layerCount, keysInWindow: true)
        }
        return forward(UnsafeRawPointer(s.window)) + (n - 1) * s.vocabulary
    }

    /// Appends `token` and returns the next token's probabilities (`vocabularyLength` floats in
    /// the arena).
    public mutating func next(_ token: Int32) throws(InferStatus) -> UnsafeMutablePointer<Float> {
        let s = try sequenceState()
        guard token >= 0 && Int(token) < s.vocabulary else {
            var m = ErrorMessage(); m.append("token "); m.append(Int(token)); m.append(" is outside the vocabulary of ")
            m.append(s.vocabulary)
            throw .argument
        }
        append(token)
        Kernels.softmaxRows(lastLogits(), into: s.probabilities, rows: 1, columns: s.vocabulary)
        return s.probabilities
    }

    /// Resets, feeds `prompt` (at least one byte), then writes `count` sampled bytes to `output`
    /// (temperature 0: the most likely; topK 0: all), deterministic for a seed: the bytes
    /// `GPTTrainer.generate` gives for the same weights and arguments, the probabilities agreeing
    /// within about 1e-6 (so a near tie could in principle go the other way).
    public mutating func generate(prompt: UnsafePointer<UInt8>, count promptCount: Int, newBytes: Int, temperature: Float, topK: Int,
                                  seed: UInt64, into output: UnsafeMutablePointer<UInt8>) throws(InferStatus) {
        let s = try sequenceState()
        guard promptCount > 0 else { var m = ErrorMessage(); m.append("the prompt must hold at least one byte"); throw .argument }
        guard temperature >= 0, temperature.isFinite, topK >= 0 else {
            var m = ErrorMessage(); m.append("temperature must be 0 or more and top_k 0 or more"); throw .argument
        }
        for i in 0..<promptCount where s.tokenOfByte[Int(prompt[i])] < 0 {
            var m = ErrorMessage(); m.append("prompt byte "); m.append(Int(prompt[i])); m.append(" at offset "); m.append(i)
            m.append(" is not in the model's vocabulary")
            throw .argument
        }
        sequence!.length = 0
        sequence!.cachedPositions = 0
        for i in 0..<promptCount { append(Int32(s.tokenOfByte[Int(prompt[i])])) }
        var generator = RandomGenerator(seed: seed)
        for i in 0..<newBytes {
            let token = Kernels.pickToken(lastLogits(), vocabulary: s.vocabulary, temperature: temperature, topK: topK,
                                          probabilities: s.probabilities, using: &generator)
            append(Int32(token))
            output[i] = s.byteOfToken[token]
        }
    }
}
