/// Why an arena could not satisfy a request.
public enum ArenaError: Error, Equatable, CustomStringConvertible {
    /// The request does not fit in what is left. `requested` includes the padding needed to keep
    /// the 64-byte alignment; `remaining` is what was free before the request.
    case outOfMemory(requested: Int, remaining: Int, capacity: Int)
    /// A negative count, or a byte size that overflows `Int`.
    case invalidSize(count: Int, stride: Int)
    /// The block handed to `ArenaAllocator(borrowing:)` could not be used.
    case invalidBuffer(String)

    public var description: String {
        switch self {
        case let .outOfMemory(requested, remaining, capacity):
            return "arena out of memory: asked for \(requested) bytes, \(remaining) of \(capacity) remain"
        case let .invalidSize(count, stride):
            return "arena: impossible allocation of \(count) elements of \(stride) bytes"
        case let .invalidBuffer(why):
            return "arena: unusable buffer: \(why)"
        }
    }
}
