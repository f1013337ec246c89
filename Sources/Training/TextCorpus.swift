/// A text as byte-level tokens: the vocabulary is the sorted set of bytes of the training part (the
/// first `trainFraction` of the text), and the rest validates.
public struct TextCorpus: Sendable {
    public let vocabulary: [UInt8]
    public let train: [Int32]
    public let validation: [Int32]

    /// - Throws: a message when the text is too short to split or the validation part holds a
    ///   byte the training part never does.
    public init(text: [UInt8], trainFraction: Double = 0.9, minimumTokens: Int = 2) throws(TrainingError) {
        let split = Int(Double(text.count) * trainFraction)
        guard split >= minimumTokens, text.count - split >= minimumTokens else {
            throw .dataMismatch("the text has \(text.count) bytes: too few for a training and a validation part of \(minimumTokens) tokens each")
        }
        vocabulary = Array(Set(text[..<split])).sorted()
        var index = [Int32](repeating: -1, count: 256)
        for (i, byte) in vocabulary.enumerated() { index[Int(byte)] = Int32(i) }
        train = text[..<split].map { index[Int($0)] }
        var validation: [Int32] = []
        validation.reserveCapacity(text.count - split)
        for (offset, byte) in text[split...].enumerated() {
            guard index[Int(byte)] >= 0 else {
                throw .dataMismatch("byte \(byte) at offset \(split + offset) of the validation part never occurs in the training part, so it is not in the vocabulary")
            }
            validation.append(index[Int(byte)])
        }
        self.validation = validation
    }
}
