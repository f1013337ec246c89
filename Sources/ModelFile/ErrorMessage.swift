import CRuntimeSupport

/// Builds the calling thread's last-error message in a fixed thread-local C buffer, from static
/// strings and integers only, so reporting a failure allocates nothing. Text past the buffer's
/// capacity is cut off.
public struct ErrorMessage {
    private let buffer = runtime_error_buffer()!
    private var length = 0
    private let capacity = Int(RUNTIME_ERROR_CAPACITY) - 1

    /// Starts a new message, replacing the previous one.
    public init() { buffer[0] = 0 }

    /// The current message of this thread.
    public static var current: UnsafePointer<CChar> { UnsafePointer(runtime_error_buffer()!) }

    /// Clears this thread's message.
    public static func clear() { runtime_error_buffer()![0] = 0 }

    @discardableResult
    public mutating func append(_ text: StaticString) -> ErrorMessage {
        text.withUTF8Buffer { bytes in
            for byte in bytes where length < capacity {
                buffer[length] = CChar(bitPattern: byte)
                length += 1
            }
        }
        buffer[length] = 0
        return self
    }

    /// Appends C text (for example a message from the PNG decoder), at most `limit` bytes.
    @discardableResult
    public mutating func append(cString text: UnsafePointer<CChar>, limit: Int = 300) -> ErrorMessage {
        var i = 0
        while text[i] != 0 && i < limit && length < capacity {
            buffer[length] = text[i]
            length += 1
            i += 1
        }
        buffer[length] = 0
        return self
    }

    @discardableResult
    public mutating func append(_ value: Int) -> ErrorMessage {
        if value < 0, length < capacity { buffer[length] = 45; length += 1 }
        forEachDecimalDigit(of: UInt64(value.magnitude)) { digit in
            guard length < capacity else { return }
            buffer[length] = CChar(bitPattern: digit)
            length += 1
        }
        buffer[length] = 0
        return self
    }
}
