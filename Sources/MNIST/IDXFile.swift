import CZlib

/// Reads IDX files (the format MNIST ships in), gzip-compressed or not: zlib's gzread passes
/// uncompressed files through unchanged.
public enum IDXFile {
    public static let imagesMagic: UInt32 = 0x0000_0803
    public static let labelsMagic: UInt32 = 0x0000_0801

    /// Reads an unsigned-byte IDX file whose magic must be `magic`; returns its dimensions and data.
    public static func read(path: String, magic: UInt32) throws(IDXError) -> (dimensions: [Int], data: [UInt8]) {
        guard let file = gzopen(path, "rb") else {
            throw .cannotOpen(path: path, reason: String(cString: strerror(errno)))
        }
        defer { gzclose(file) }
        let header = try readExactly(file, 4, path: path, what: 4)
        let found = bigEndian(header, 0)
        guard found == magic else { throw .wrongMagic(path: path, found: found, expected: magic) }
        let rank = Int(magic & 0xFF)
        let dimensionBytes = try readExactly(file, 4 * rank, path: path, what: 4 * rank)
        let dimensions = (0..<rank).map { Int(bigEndian(dimensionBytes, 4 * $0)) }
        // Each dimension below 2^31 and the product below 2^40: rules out overflow and absurd sizes.
        var total = 1
        for d in dimensions {
            guard d > 0, d < Int(Int32.max) else { throw .badDimensions(path: path, dimensions: dimensions) }
            total *= d
            guard total < 1 << 40 else { throw .badDimensions(path: path, dimensions: dimensions) }
        }
        let data = try readExactly(file, total, path: path, what: total)
        var extra: UInt8 = 0
        let more = gzread(file, &extra, 1)
        if more < 0 { throw .corrupt(path: path, reason: zlibError(file)) }
        if more > 0 { throw .trailingData(path: path, expectedBytes: total) }
        return (dimensions, data)
    }

    private static func readExactly(_ file: gzFile, _ count: Int, path: String, what: Int) throws(IDXError) -> [UInt8] {
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let chunk = Int32(min(count - done, 1 << 30))
            let got = bytes.withUnsafeMutableBytes { gzread(file, $0.baseAddress! + done, UInt32(chunk)) }
            if got < 0 { throw .corrupt(path: path, reason: zlibError(file)) }
            if got == 0 {
                // A gzip stream cut short reads as end of data; zlib reports it as an error or as EOF.
                throw .truncated(path: path, expectedBytes: what, gotBytes: done)
            }
            done += Int(got)
        }
        return bytes
    }

    private static func zlibError(_ file: gzFile) -> String {
        var code: Int32 = 0
        guard let message = gzerror(file, &code) else { return "zlib error \(code)" }
        return String(cString: message)
    }

    private static func bigEndian(_ b: [UInt8], _ at: Int) -> UInt32 {
        UInt32(b[at]) << 24 | UInt32(b[at + 1]) << 16 | UInt32(b[at + 2]) << 8 | UInt32(b[at + 3])
    }
}

#if canImport(Glibc)
import Glibc
#endif
