import Foundation
import LowLevel
import ModelFile

/// A header that lists its checkpoint's tensors (the GPT's and the GAN's).
public protocol CheckpointHeader: Codable {
    /// The model kind ("gpt", "gan"), so each reader refuses the others' files.
    var model: String { get }
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

    /// Copies every one of `targets` from the checkpoint's tensors of the same name, having first
    /// checked that each is there with the target's size (so a refused checkpoint changes nothing).
    func restoreTensors(into targets: [(name: String, values: UnsafeMutableBufferPointer<Float>)]) throws(CheckpointError) {
        for (name, target) in targets {
            guard let values = tensors[name], values.count == target.count else {
                throw CheckpointError("the checkpoint has no tensor \(name) of \(target.count) values")
            }
        }
        for (name, target) in targets { _ = target.update(fromContentsOf: tensors[name]!) }
    }
}

/// A checkpoint header's model kind alone.
private struct ModelKind: Decodable { let model: String }

extension Checkpoint {
    /// Copies of `named` tensors with their table entries (offsets assigned on encoding).
    static func snapshot(_ named: [(name: String, values: UnsafeMutableBufferPointer<Float>)]) -> (entries: [TensorEntry], tensors: [String: [Float]]) {
        var entries: [TensorEntry] = [], tensors: [String: [Float]] = [:]
        for (name, values) in named {
            entries.append(TensorEntry(name: name, count: values.count, offset: 0))
            tensors[name] = Array(values)
        }
        return (entries, tensors)
    }

    /// The header of a checkpoint of `model` ("a GPT" in messages: `kind`) and its tensors.
    static func decode<Header: CheckpointHeader>(_ bytes: [UInt8], path: String, model: String, kind: String) throws(CheckpointError) -> (Header, [String: [Float]]) {
        let (json, dataStart) = try opened(bytes, path: path)
        // The model kind first, so another model's checkpoint is named as such.
        if let found = try? JSONDecoder().decode(ModelKind.self, from: json), found.model != model {
            throw CheckpointError("\(path): a checkpoint of a '\(found.model)' model, not \(kind)")
        }
        let header: Header
        do { header = try JSONDecoder().decode(Header.self, from: json) } catch {
            throw CheckpointError("\(path): not \(kind) checkpoint: \(error)")
        }
        guard header.model == model else { throw CheckpointError("\(path): a checkpoint of a '\(header.model)' model, not \(kind)") }
        return (header, try tensors(header.tensors, in: bytes, from: dataStart, path: path))
    }

    /// A generator's state words in hex (JSON numbers lose 64-bit precision in some readers).
    static func hex(_ generator: RandomGenerator) -> [String] { generator.state.map { String($0, radix: 16) } }

    /// A generator from its state words in hex (`hex(_:)`), or nil if they are not valid.
    static func generator(hex words: [String]) -> RandomGenerator? {
        let state = words.compactMap { UInt64($0, radix: 16) }
        return state.count == words.count ? RandomGenerator(state: state) : nil
    }
}
