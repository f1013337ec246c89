import Infer
import ModelFile

/// A model file read into 64-byte aligned memory and opened by the runtime in an arena of the
/// exact size, as `infer_open` does; both buffers live as long as this object.
final class LoadedModel {
    let file: ModelFile
    let runtime: UnsafeMutablePointer<RuntimeModel>
    private let bytes: UnsafeMutableRawBufferPointer
    private let arena: UnsafeMutableRawPointer

    init(path: String) throws(ToolFailure) {
        let data: [UInt8]
        do { data = try AtomicFile.read(path) } catch { throw ToolFailure("cannot read \(path): \(error)") }
        let bytes = UnsafeMutableRawBufferPointer.allocate(byteCount: max(data.count, 1), alignment: 64)
        data.withUnsafeBytes { bytes.copyMemory(from: $0) }
        self.bytes = bytes
        let arenaBytes: Int
        do {
            file = try ModelFile(base: bytes.baseAddress!, length: data.count)
            arenaBytes = RuntimeModel.arenaBytes(for: file)
            arena = UnsafeMutableRawPointer.allocate(byteCount: max(arenaBytes, 1), alignment: 64)
        } catch {
            bytes.deallocate()
            throw ToolFailure("\(path): \(String(cString: ErrorMessage.current))")
        }
        do { runtime = try RuntimeModel.open(file, arena: arena, length: arenaBytes) } catch {
            bytes.deallocate()
            arena.deallocate()
            throw ToolFailure("\(path): \(String(cString: ErrorMessage.current))")
        }
    }

    deinit {
        bytes.deallocate()
        arena.deallocate()
    }
}

struct ToolFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
