/// Writes an unsigned integer's decimal digits, most significant first, at least `minimumDigits` of
/// them (leading zeros), to `emit`, without allocating: shared by the fixed-buffer text builders
/// (`ErrorMessage`, the command line's `TextLine`).
public func forEachDecimalDigit(of value: UInt64, minimumDigits: Int = 1, _ emit: (UInt8) -> Void) {
    var digits: (UInt64, UInt64, UInt64) = (0, 0, 0) // room for 24 decimal digits
    var n = 0, rest = value
    withUnsafeMutableBytes(of: &digits) { d in
        repeat {
            d[n] = UInt8(ascii: "0") + UInt8(rest % 10)
            rest /= 10
            n += 1
        } while (rest > 0 || n < minimumDigits) && n < d.count
        while n > 0 { n -= 1; emit(d[n]) }
    }
}
