#if canImport(Glibc)
import Glibc
#endif

/// xoshiro256** seeded through SplitMix64: fast, statistically sound, and with a 32-byte state that
/// a checkpoint saves, so a resumed run draws exactly the numbers an uninterrupted one would.
public struct RandomGenerator: RandomNumberGenerator, Sendable, Equatable, Codable {
    private var s0: UInt64, s1: UInt64, s2: UInt64, s3: UInt64

    public init(seed: UInt64) {
        var x = seed
        func splitMix() -> UInt64 {
            x &+= 0x9E37_79B9_7F4A_7C15
            var z = x
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        s0 = splitMix(); s1 = splitMix(); s2 = splitMix(); s3 = splitMix()
    }

    /// The four state words, for checkpoints.
    public var state: [UInt64] { [s0, s1, s2, s3] }

    /// State word `i` (0...3), without building an array.
    public func stateWord(_ i: Int) -> UInt64 {
        switch i { case 0: s0; case 1: s1; case 2: s2; default: s3 }
    }

    /// Restores a saved state; nil unless it is four words, not all zero.
    public init?(state: [UInt64]) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
        s0 = state[0]; s1 = state[1]; s2 = state[2]; s3 = state[3]
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s1 &* 5, 7) &* 9
        let t = s1 << 17
        s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3
        s2 ^= t
        s3 = rotl(s3, 45)
        return result
    }

    /// Uniform in [0, 1) with 24 random bits.
    public mutating func nextUniform() -> Float { Float(next() >> 40) * (1.0 / 16_777_216.0) }

    /// Standard normal by Box–Muller (one of the pair is used, so the state stays simple).
    public mutating func nextGaussian() -> Float {
        let u1 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float(sqrt(-2 * log(1 - u1)) * cos(2 * Double.pi * u2))
    }

    /// Uniform integer in 0..<n without modulo bias (Lemire's method). - Precondition: n > 0.
    public mutating func nextIndex(below n: Int) -> Int {
        let bound = UInt64(n)
        var m = next().multipliedFullWidth(by: bound)
        if m.low < bound {
            let threshold = (0 &- bound) % bound
            while m.low < threshold { m = next().multipliedFullWidth(by: bound) }
        }
        return Int(m.high)
    }

    /// Fisher–Yates shuffle in place.
    public mutating func shuffle(_ items: UnsafeMutableBufferPointer<Int32>) {
        var items = items
        shuffle(&items)
    }

    /// Fisher–Yates shuffle in place, the same swaps for the same state on every platform (the
    /// standard library's `shuffle(using:)` does not promise its algorithm).
    public mutating func shuffle<C: MutableCollection & RandomAccessCollection>(_ items: inout C) where C.Index == Int {
        var i = items.count - 1
        while i > 0 {
            let j = nextIndex(below: i + 1)
            items.swapAt(items.startIndex + i, items.startIndex + j)
            i -= 1
        }
    }
}

@inline(__always) private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }
