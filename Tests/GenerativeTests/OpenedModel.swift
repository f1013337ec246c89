import Testing
import InferC

/// Opens `bytes` through the C interface in an arena of exactly infer_arena_size and runs `body`
/// on the model.
func withOpenedModel(_ bytes: [UInt8], _ body: (OpaquePointer) throws -> Void) throws {
    let memory = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 64)
    defer { memory.deallocate() }
    bytes.withUnsafeBytes { memory.copyMemory(from: $0) }
    var needed = 0
    #expect(infer_arena_size(memory.baseAddress, bytes.count, &needed) == 0)
    let arena = UnsafeMutableRawBufferPointer.allocate(byteCount: needed, alignment: 16)
    defer { arena.deallocate() }
    var model: OpaquePointer?
    #expect(infer_open(memory.baseAddress, bytes.count, arena.baseAddress, needed, &model) == 0, "\(String(cString: infer_last_error()))")
    try body(try #require(model))
}
