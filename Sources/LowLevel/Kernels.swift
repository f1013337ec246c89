/// Namespace for the vector kernels: plain loops over raw `Float` pointers, 16 lanes at a time
/// through `SIMD16<Float>`, then a scalar tail.
///
/// Every kernel takes a pointer and an element count. Preconditions common to all of them:
/// pointers are valid for `count` elements (any alignment), `count >= 0`, and outputs either do
/// not overlap inputs or are the very same pointer (in-place use is allowed where a kernel says so).
public enum Kernels {}

/// The only place that turns raw pointers into SIMD values. Unaligned loads and stores are used:
/// the arena keeps buffers 64-byte aligned, but row starts inside a matrix need not be.
@inlinable @inline(__always)
public func load16(_ p: UnsafePointer<Float>) -> SIMD16<Float> {
    UnsafeRawPointer(p).loadUnaligned(as: SIMD16<Float>.self)
}

@inlinable @inline(__always)
public func store16(_ v: SIMD16<Float>, _ p: UnsafeMutablePointer<Float>) {
    UnsafeMutableRawPointer(p).storeBytes(of: v, as: SIMD16<Float>.self)
}
