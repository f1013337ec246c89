import Infer
import Training
import ModelFile
#if canImport(Glibc)
import Glibc
#endif

/// A line of text built in a fixed buffer from static strings, integers and decimals, written
/// to a file descriptor in one call: the per-epoch report and the progress bar allocate nothing
/// (`String(format:)` and string interpolation allocate on every call). Text past the capacity
/// is cut off.
public struct TextLine {
    public static let capacity = 512
    private let buffer: UnsafeMutablePointer<UInt8>
    public private(set) var count = 0

    /// - Parameter storage: `TextLine.capacity` bytes owned by the caller (reused line after line).
    public init(storage: UnsafeMutablePointer<UInt8>) { buffer = storage }

    /// The line so far (allocates: for tests and callers that need a String).
    public var text: String { String(decoding: UnsafeBufferPointer(start: buffer, count: count), as: UTF8.self) }

    public mutating func append(_ text: StaticString) {
        text.withUTF8Buffer { for byte in $0 { appendByte(byte) } }
    }

    public mutating func appendByte(_ byte: UInt8) {
        guard count < Self.capacity else { return }
        buffer[count] = byte
        count += 1
    }

    public mutating func append(_ value: Int) {
        if value < 0 { appendByte(UInt8(ascii: "-")) }
        appendDigits(UInt64(value.magnitude), minimumDigits: 1)
    }

    /// `value` with `decimals` digits after the point, as printf's %.Nf writes it (halves to
    /// even, a minus sign on negative values that round to zero; exact for the magnitudes a
    /// report shows); "nan" and "inf" as printf writes them.
    public mutating func append(_ value: Double, decimals: Int) {
        guard value.isFinite else {
            if value.isNaN { append("nan") } else { append(value < 0 ? "-inf" : "inf") }
            return
        }
        var scale: Double = 1
        for _ in 0..<decimals { scale *= 10 }
        let scaled = (abs(value) * scale).rounded(.toNearestOrEven)
        guard scaled < 9e18 else { append(value < 0 ? "-huge" : "huge"); return }
        let units = UInt64(scaled), divisor = UInt64(scale)
        if value.sign == .minus { appendByte(UInt8(ascii: "-")) }
        appendDigits(units / divisor, minimumDigits: 1)
        if decimals > 0 {
            appendByte(UInt8(ascii: "."))
            appendDigits(units % divisor, minimumDigits: decimals)
        }
    }

    /// `value` with `digits` significant digits and trailing zeros dropped (0.05, 0.001, 12.5):
    /// for learning rates. Values below 1e-6 or from 1e9 up print as 0 or "huge".
    public mutating func append(significant value: Double, digits: Int) {
        guard value != 0, value.isFinite, abs(value) >= 1e-6 else { append(value, decimals: 0); return }
        var magnitude = 0
        var v = abs(value)
        while v >= 10 { v /= 10; magnitude += 1 }
        while v < 1 { v *= 10; magnitude -= 1 }
        let decimals = max(0, digits - 1 - magnitude)
        let start = count
        append(value, decimals: decimals)
        if decimals > 0 {
            while count > start, buffer[count - 1] == UInt8(ascii: "0") { count -= 1 }
            if buffer[count - 1] == UInt8(ascii: ".") { count -= 1 }
        }
    }

    private mutating func appendDigits(_ value: UInt64, minimumDigits: Int) {
        forEachDecimalDigit(of: value, minimumDigits: minimumDigits) { appendByte($0) }
    }

    /// Writes the line to `descriptor` (retrying short writes) and empties it.
    public mutating func write(to descriptor: Int32) {
        var done = 0
        while done < count {
            let written = Glibc.write(descriptor, buffer + done, count - done)
            if written <= 0 { break }
            done += written
        }
        count = 0
    }
}
