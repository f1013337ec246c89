/// The element type of a value.
public enum ElementType: String, Codable, Sendable {
    case float32
    /// Integer inputs: token ids, class labels. Carry no gradient.
    case int32
}

/// What a value holds: its shape, element type, and whether it has one copy per sample.
///
/// A batched value (an input or anything computed from one) has `shape` per sample, and at run
/// time `rows × elementsPerSample` elements, samples one after another. An unbatched value
/// (a parameter, a state tensor, a constant) has exactly `shape`.
public struct TensorType: Hashable, Codable, Sendable, CustomStringConvertible {
    public var shape: [Int]
    public var element: ElementType
    public var isBatched: Bool

    public init(_ shape: [Int], _ element: ElementType = .float32, batched: Bool) {
        self.shape = shape
        self.element = element
        self.isBatched = batched
    }

    /// Elements per sample (batched) or in all (unbatched); 1 for a scalar (`shape == []`).
    public var elementsPerSample: Int { shape.reduce(1, *) }

    /// Elements in a run of `rows` samples.
    public func count(rows: Int) -> Int { isBatched ? rows * elementsPerSample : elementsPerSample }

    /// Bytes for `rows` samples.
    public func bytes(rows: Int) -> Int { count(rows: rows) * 4 }

    /// "[batch, 4, 3] float32", "[10] float32", "[] int32".
    public var description: String {
        let dims = (isBatched ? ["batch"] : []) + shape.map(String.init)
        return "[\(dims.joined(separator: ", "))]" + (element == .float32 ? "" : " \(element.rawValue)")
    }
}
