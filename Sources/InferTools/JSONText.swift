/// The `--json` reports as text: objects with their keys sorted, numbers in Swift's shortest
/// round-trip form, NaN and infinities as null (JSON has neither). Unlike `JSONSerialization`
/// it does the same work on every run: its sort compares Swift strings, where Foundation's
/// allocation count follows the dictionary's per-process hash order.
public enum JSONText {
    /// - Precondition: `value` is built from dictionaries with String keys, arrays, strings,
    ///   Booleans, integers, floating-point numbers and nil/`NSNull`-free optionals.
    public static func encode(_ value: Any) -> String {
        var out = ""
        write(value, into: &out)
        return out
    }

    private static func write(_ value: Any, into out: inout String) {
        switch value {
        case let object as [String: Any]:
            out += "{"
            for (i, key) in object.keys.sorted().enumerated() {
                if i > 0 { out += "," }
                writeString(key, into: &out)
                out += ":"
                write(object[key]!, into: &out)
            }
            out += "}"
        case let array as [Any]:
            out += "["
            for (i, element) in array.enumerated() {
                if i > 0 { out += "," }
                write(element, into: &out)
            }
            out += "]"
        case let flag as Bool: out += flag ? "true" : "false"
        case let number as Int: out += String(number)
        case let number as Int32: out += String(number)
        case let number as UInt64: out += String(number)
        case let number as Double: out += number.isFinite ? jsonNumber(number) : "null"
        case let number as Float: out += number.isFinite ? jsonNumber(Double(number)) : "null"
        case let text as String: writeString(text, into: &out)
        case Optional<Any>.none: out += "null"
        default: writeString(String(describing: value), into: &out)
        }
    }

    /// Integral values keep a ".0"-free form (3, not 3.0), as JSONSerialization writes them.
    private static func jsonNumber(_ x: Double) -> String {
        if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
        return "\(x)"
    }

    private static func writeString(_ text: String, into out: inout String) {
        out += "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default:
                if scalar.value < 0x20 {
                    let hex = String(scalar.value, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                } else {
                    out.unicodeScalars.append(scalar)
                }
            }
        }
        out += "\""
    }
}
