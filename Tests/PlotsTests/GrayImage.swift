import CPNG

/// A PNG decoded by the runtime's own libpng reader (not cairo's), as gray bytes: what the tests
/// look at to check that a figure is a real image of the promised size with ink where it should be.
struct GrayImage {
    let width: Int, height: Int
    let pixels: [UInt8]

    init?(png: [UInt8], maxSide: Int = 4096) {
        let heapBytes = 4 << 20
        let heap = UnsafeMutablePointer<UInt8>.allocate(capacity: heapBytes)
        let pixels = UnsafeMutablePointer<UInt8>.allocate(capacity: 2 * maxSide * maxSide)
        let rows = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>.allocate(capacity: maxSide)
        defer { heap.deallocate(); pixels.deallocate(); rows.deallocate() }
        var h = cpng_heap(base: heap, capacity: heapBytes, used: 0, high_water: 0, last_offset: 0)
        var target = cpng_target(pixels: pixels, rows: rows, max_width: UInt32(maxSide), max_height: UInt32(maxSide), io_buffer: nil, io_capacity: 0)
        var result = cpng_result()
        guard cpng_decode_memory(png, png.count, &h, &target, &result) == CPNG_OK else { return nil }
        (width, height) = (Int(result.width), Int(result.height))
        self.pixels = Array(UnsafeBufferPointer(start: pixels, count: width * height))
    }

    subscript(x: Int, y: Int) -> UInt8 { pixels[y * width + x] }

    /// The darkest pixel within `radius` of (x, y).
    func darkest(nearX x: Double, y: Double, radius: Int = 2) -> UInt8 {
        var d: UInt8 = 255
        for dy in -radius...radius { for dx in -radius...radius {
            let (px, py) = (Int(x.rounded()) + dx, Int(y.rounded()) + dy)
            if px >= 0, py >= 0, px < width, py < height { d = min(d, self[px, py]) }
        } }
        return d
    }

    /// How many pixels of the rows `rows` are darker than mid-gray (text, lines).
    func inkPixels(rows: Range<Int>) -> Int {
        rows.reduce(0) { sum, y in sum + (0..<width).filter { self[$0, y] < 128 }.count }
    }
}
