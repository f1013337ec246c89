/// A bump allocator over one contiguous block of memory.
///
/// Every buffer a model uses (parameters, gradients, activations, optimizer state, scratch) comes
/// from one arena, so training and inference run in a fixed amount of memory decided up front.
/// Allocations are aligned to `ArenaAllocator.alignment` (64 bytes: one cache line, one AVX-512
/// register). Nothing is freed individually: `mark()` / `reset(to:)` release everything allocated
/// after a mark, which is how a training step drops its scratch buffers.
///
/// `highWaterMark` is the most bytes ever in use, counted from the start of the block, so a
/// dry run with a large arena tells exactly how big an arena a model needs.
///
/// Not thread-safe: one arena belongs to one thread at a time.
public final class ArenaAllocator {
    /// Alignment of every allocation, in bytes.
    public static let alignment = 64

    /// Start of the usable (64-byte aligned) region.
    public let base: UnsafeMutableRawPointer
    /// Usable bytes from `base`.
    public let capacity: Int
    /// Bytes in use, from `base`.
    public private(set) var used: Int = 0
    /// The largest value `used` has had.
    public private(set) var highWaterMark: Int = 0

    private let ownedBlock: UnsafeMutableRawPointer?

    /// An arena that owns a block of `capacity` bytes (rounded up to the alignment).
    public init(capacity: Int) throws(ArenaError) {
        guard capacity >= 0, capacity <= Int.max - Self.alignment else {
            throw .invalidSize(count: capacity, stride: 1)
        }
        let rounded = Self.roundUp(capacity)
        let block = UnsafeMutableRawPointer.allocate(byteCount: max(rounded, Self.alignment),
                                                     alignment: Self.alignment)
        self.ownedBlock = block
        self.base = block
        self.capacity = rounded
    }

    /// An arena over memory the caller owns and keeps alive for the arena's lifetime. The start is
    /// moved up to the next 64-byte boundary, so up to 63 bytes of an unaligned block go unused.
    public init(borrowing buffer: UnsafeMutableRawBufferPointer) throws(ArenaError) {
        guard let start = buffer.baseAddress else { throw .invalidBuffer("no base address") }
        let address = UInt(bitPattern: start)
        let padding = Int((UInt(Self.alignment) - address % UInt(Self.alignment)) % UInt(Self.alignment))
        guard buffer.count >= padding else {
            throw .invalidBuffer("\(buffer.count) bytes is less than the \(padding) needed to align it")
        }
        self.ownedBlock = nil
        self.base = start + padding
        self.capacity = buffer.count - padding
    }

    deinit { ownedBlock?.deallocate() }

    /// Bytes still free.
    public var remaining: Int { capacity - used }

    /// Bytes an allocation of `count` elements of `T` takes in an arena, padding included.
    /// Sizing helpers use this to compute exact arena requirements without allocating.
    public static func footprint<T>(of type: T.Type, count: Int) -> Int {
        roundUp(count * MemoryLayout<T>.stride)
    }

    /// Allocates uninitialised room for `count` values of a trivial type `T`.
    /// - Precondition: `T` is a trivial type (no references) with alignment ≤ 64.
    public func allocate<T>(_ type: T.Type, count: Int) throws(ArenaError) -> UnsafeMutableBufferPointer<T> {
        let stride = MemoryLayout<T>.stride
        guard count >= 0 else { throw .invalidSize(count: count, stride: stride) }
        let (bytes, overflow) = count.multipliedReportingOverflow(by: stride)
        guard !overflow, bytes <= Int.max - Self.alignment else {
            throw .invalidSize(count: count, stride: stride)
        }
        let padded = Self.roundUp(bytes)
        guard padded <= remaining else {
            throw .outOfMemory(requested: padded, remaining: remaining, capacity: capacity)
        }
        let start = base + used
        used += padded
        if used > highWaterMark { highWaterMark = used }
        return UnsafeMutableBufferPointer(start: start.bindMemory(to: T.self, capacity: count), count: count)
    }

    /// Allocates `count` floats, all set to zero.
    public func allocateFloats(_ count: Int) throws(ArenaError) -> UnsafeMutableBufferPointer<Float> {
        let buffer = try allocate(Float.self, count: count)
        buffer.initialize(repeating: 0)
        return buffer
    }

    /// A position to come back to with `reset(to:)`.
    public struct Mark: Equatable, Sendable {
        fileprivate let offset: Int
    }

    /// The current position.
    public func mark() -> Mark { Mark(offset: used) }

    /// Releases everything allocated since `mark`. Buffers handed out after the mark must not be
    /// used again. The high-water mark is kept.
    /// - Precondition: `mark` came from this arena and no earlier reset went below it.
    public func reset(to mark: Mark) {
        precondition(mark.offset <= used, "arena reset to a mark above the current position")
        used = mark.offset
    }

    /// Releases everything. The high-water mark is kept.
    public func reset() { used = 0 }

    private static func roundUp(_ bytes: Int) -> Int {
        (bytes + alignment - 1) & ~(alignment - 1)
    }
}
