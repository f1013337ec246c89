import XCTest
import Arena

/// Kept in XCTest so both test libraries report a run (CI reads either summary).
final class ArenaXCTests: XCTestCase {
    func testBorrowedArenaNeverHandsOutMemoryOutsideItsBlock() throws {
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: 4096, alignment: 64)
        defer { raw.deallocate() }
        let arena = try ArenaAllocator(borrowing: raw)
        var last = arena.base
        while let buffer = try? arena.allocate(UInt8.self, count: 100) {
            let start = UnsafeMutableRawPointer(buffer.baseAddress!)
            XCTAssertGreaterThanOrEqual(start, last)
            XCTAssertLessThanOrEqual(start + 100, raw.baseAddress! + 4096)
            last = start + 100
        }
        XCTAssertEqual(arena.used, 4096 - 4096 % 128)
    }
}
