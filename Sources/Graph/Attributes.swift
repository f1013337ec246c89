/// A node's named arguments (a reduction's axis, a matmul's transpose flag, a constant's value).
public struct Attributes: Hashable, Codable, Sendable, CustomStringConvertible {
    public enum Argument: Hashable, Codable, Sendable {
        case int(Int)
        case float(Float)
        case ints([Int])
    }

    public private(set) var arguments: [String: Argument]

    public init(_ arguments: [String: Argument] = [:]) { self.arguments = arguments }

    public subscript(name: String) -> Argument? {
        get { arguments[name] }
        set { arguments[name] = newValue }
    }

    /// The integer argument `name`, or `fallback` when absent.
    public func int(_ name: String, default fallback: Int = 0) -> Int {
        if case .int(let v)? = arguments[name] { return v }
        return fallback
    }

    /// The float argument `name`, or `fallback` when absent.
    public func float(_ name: String, default fallback: Float = 0) -> Float {
        switch arguments[name] {
        case .float(let v)?: v
        case .int(let v)?: Float(v)
        default: fallback
        }
    }

    public func ints(_ name: String) -> [Int] {
        if case .ints(let v)? = arguments[name] { return v }
        return []
    }

    public var description: String {
        arguments.keys.sorted().map { key in
            switch arguments[key]! {
            case .int(let v): "\(key)=\(v)"
            case .float(let v): "\(key)=\(v)"
            case .ints(let v): "\(key)=\(v)"
            }
        }.joined(separator: ", ")
    }
}
