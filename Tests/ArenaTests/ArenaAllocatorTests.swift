import Testing
import Arena

@Suite struct ArenaAllocatorTests {
    @Test func everyAllocationIs64ByteAligned() throws {
        let arena = try ArenaAllocator(capacity: 4096)
        for count in [1, 3, 16, 17, 5] {
            let buffer = try arena.allocate(Float.self, count: count)
            #expect(UInt(bitPattern: buffer.baseAddress!) % 64 == 0)
            #expect(buffer.count == count)
        }
        let bytes = try arena.allocate(UInt8.self, count: 1)
        let next = try arena.allocate(Double.self, count: 2)
        #expect(UInt(bitPattern: next.baseAddress!) - UInt(bitPattern: bytes.baseAddress!) == 64)
    }

    @Test func borrowedUnalignedBlockIsAlignedAndBounded() throws {
        let raw = UnsafeMutableRawBufferPointer.allocate(byteCount: 1000, alignment: 64)
        defer { raw.deallocate() }
        // Start 3 bytes in: the arena must skip to the next 64-byte boundary and lose 61 bytes.
        let arena = try ArenaAllocator(borrowing: UnsafeMutableRawBufferPointer(rebasing: raw[3...]))
        #expect(arena.capacity == 997 - 61)
        #expect(UInt(bitPattern: arena.base) % 64 == 0)
        let floats = try arena.allocateFloats(10)
        #expect(floats.allSatisfy { $0 == 0 })
        #expect(UnsafeMutableRawPointer(floats.baseAddress!) >= raw.baseAddress! + 3)
    }

    @Test func outOfMemoryReportsRequestedAndRemaining() throws {
        let arena = try ArenaAllocator(capacity: 256)
        _ = try arena.allocate(Float.self, count: 40) // 160 bytes, padded to 192
        #expect(throws: ArenaError.outOfMemory(requested: 128, remaining: 64, capacity: 256)) {
            try arena.allocate(Float.self, count: 17)
        }
        // The failed request changed nothing.
        #expect(arena.used == 192)
        let message = "\(ArenaError.outOfMemory(requested: 128, remaining: 64, capacity: 256))"
        #expect(message.contains("128") && message.contains("64"))
        // Exactly what is left still fits.
        _ = try arena.allocate(UInt8.self, count: 64)
        #expect(arena.remaining == 0)
    }

    @Test func markResetReleasesScratchAndKeepsHighWaterMark() throws {
        let arena = try ArenaAllocator(capacity: 1024)
        _ = try arena.allocate(Float.self, count: 16)
        let mark = arena.mark()
        let first = try arena.allocate(Float.self, count: 100)
        #expect(arena.used == 64 + 448)
        arena.reset(to: mark)
        #expect(arena.used == 64)
        let again = try arena.allocate(Float.self, count: 100)
        #expect(again.baseAddress == first.baseAddress)
        #expect(arena.highWaterMark == 64 + 448)
        arena.reset()
        #expect(arena.used == 0 && arena.highWaterMark == 512)
    }

    @Test func impossibleSizesAreRejected() throws {
        let arena = try ArenaAllocator(capacity: 64)
        #expect(throws: ArenaError.invalidSize(count: -1, stride: 4)) { try arena.allocate(Float.self, count: -1) }
        #expect(throws: ArenaError.invalidSize(count: Int.max / 2, stride: 4)) {
            try arena.allocate(Float.self, count: Int.max / 2)
        }
        #expect(throws: ArenaError.self) { try ArenaAllocator(capacity: -5) }
    }

    @Test func footprintMatchesWhatAllocationTakes() throws {
        let arena = try ArenaAllocator(capacity: 10_000)
        for count in [0, 1, 15, 16, 17, 1000] {
            let before = arena.used
            _ = try arena.allocate(Float.self, count: count)
            #expect(arena.used - before == ArenaAllocator.footprint(of: Float.self, count: count))
        }
    }
}
