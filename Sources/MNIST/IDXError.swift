/// Why an IDX file or an MNIST directory could not be read.
public enum IDXError: Error, Equatable, CustomStringConvertible {
    case cannotOpen(path: String, reason: String)
    case corrupt(path: String, reason: String)
    case wrongMagic(path: String, found: UInt32, expected: UInt32)
    case badDimensions(path: String, dimensions: [Int])
    case truncated(path: String, expectedBytes: Int, gotBytes: Int)
    case trailingData(path: String, expectedBytes: Int)
    case countMismatch(images: Int, labels: Int, imagesPath: String, labelsPath: String)
    case badLabel(path: String, index: Int, value: UInt8)
    case missingFiles(directory: String, tried: [String])

    public var description: String {
        switch self {
        case let .cannotOpen(path, reason):
            return "\(path): cannot open: \(reason)"
        case let .corrupt(path, reason):
            return "\(path): corrupt gzip data: \(reason)"
        case let .wrongMagic(path, found, expected):
            return "\(path): not an IDX file of the expected kind: magic 0x\(hex(found)), expected 0x\(hex(expected))"
        case let .badDimensions(path, dimensions):
            return "\(path): impossible dimensions \(dimensions)"
        case let .truncated(path, expected, got):
            return "\(path): truncated: the header promises \(expected) data bytes, the file has \(got)"
        case let .trailingData(path, expected):
            return "\(path): more data than the header's \(expected) bytes"
        case let .countMismatch(images, labels, imagesPath, labelsPath):
            return "\(imagesPath) holds \(images) images but \(labelsPath) holds \(labels) labels"
        case let .badLabel(path, index, value):
            return "\(path): label \(index) is \(value), outside 0-9"
        case let .missingFiles(directory, tried):
            return "no MNIST files in \(directory): looked for \(tried.joined(separator: ", "))"
        }
    }
}

private func hex(_ v: UInt32) -> String {
    let s = String(v, radix: 16)
    return String(repeating: "0", count: max(0, 8 - s.count)) + s
}
