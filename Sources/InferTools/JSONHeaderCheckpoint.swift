import Foundation
import LowLevel
import ModelFile

/// A header that lists its checkpoint's tensors (the GPT's and the GAN's).
public protocol CheckpointHeader: Codable {
    var tensors: [Checkpoint.TensorEntry] { get set }
}

/// A checkpoint in `Checkpoint`'s layout whose JSON header is its own type: encoding, atomic
/// reading and writing are shared; each kind decodes and checks its header.
public protocol JSONHeaderCheckpoint {
    associatedtype Header: CheckpointHeader
    var header: Header { get }
    var tensors: [String: [Float]] { get }
    init(decoding bytes: [UInt8], path: String) throws(CheckpointError)
}

extension JSONHeaderCheckpoint {
    public func encoded() throws -> [UInt8] {
        var header = self.header
        _ = Checkpoint.assignOffsets(&header.tensors)
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return Checkpoint.sealed(json: Array(try encoder.encode(header)), entries: header.tensors, tensors: tensors)
    }

    public static func read(path: String) throws -> Self {
        try Self(decoding: try AtomicFile.read(path), path: path)
    }

    public func write(to path: String) throws { try AtomicFile.write(try encoded(), to: path) }
}

extension Checkpoint {
    /// A generator from its state words in hex, or nil if they are not valid.
    static func generator(hex words: [String]) -> RandomGenerator? {
        let state = words.compactMap { UInt64($0, radix: 16) }
        return state.count == words.count ? RandomGenerator(state: state) : nil
    }
}
