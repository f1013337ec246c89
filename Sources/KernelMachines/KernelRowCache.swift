import Arena
import COpenBLAS
import Infer
import Training
import ModelFile
import LowLevel

/// Rows of the kernel matrix K_ij = k(xᵢ, xⱼ) of n points, kept in a fixed byte budget carved from
/// an arena: `slotCount` slots of n floats, reused least-recently-used first.
///
/// A miss computes its row with one matrix-vector product of the points against xᵢ and the
/// precomputed squared norms (`KernelBlock`). When every row fits in the budget and
/// `precomputeWhenFits` is set, the whole matrix is computed up front with one symmetric rank-k
/// product (`ssyrk`): compute-bound instead of the memory-bound row-by-row products, and half the
/// work by symmetry; SMO on a few thousand samples touches a large part of the rows anyway (on the
/// 45 MNIST digit pairs this makes the whole 10k-digit fit about 2.5 s). The diagonal K_ii is kept
/// separately.
///
/// Not thread-safe. The points must stay unchanged while the cache is in use.
public final class KernelRowCache {
    public let kernel: KernelFunction
    public let points: Matrix
    /// Rows (and columns) of the kernel matrix.
    public let count: Int
    /// Rows the cache holds at once (≥ 2 unless n < 2, so SMO's two rows are both present).
    public let slotCount: Int
    /// Whether the whole matrix was computed up front (then no row is ever evicted).
    public let holdsAllRows: Bool
    /// K_ii, computed exactly from the squared norms.
    public let diagonal: UnsafeMutableBufferPointer<Float>
    /// ‖xᵢ‖².
    public let norms: UnsafeMutableBufferPointer<Float>
    /// Row requests served from the cache, and rows computed.
    public private(set) var hits = 0, misses = 0

    private let storage: UnsafeMutablePointer<Float>
    private let rowSlot: UnsafeMutableBufferPointer<Int32> // slot of each row, or −1
    private let slotRow: UnsafeMutableBufferPointer<Int32> // row in each slot, or −1
    // Doubly linked recency list over the slots: head is the most recently used, tail the next victim.
    private let previous: UnsafeMutableBufferPointer<Int32>
    private let next: UnsafeMutableBufferPointer<Int32>
    private var head: Int32 = -1, tail: Int32 = -1

    /// Bytes a cache of `slots` slots over `n` rows takes in an arena (everything it allocates).
    public static func footprint(rows n: Int, slots: Int) -> Int {
        2 * ArenaAllocator.footprint(of: Float.self, count: n)
            + ArenaAllocator.footprint(of: Int32.self, count: n)
            + ArenaAllocator.footprint(of: Float.self, count: slots * n)
            + 3 * ArenaAllocator.footprint(of: Int32.self, count: slots)
    }

    /// The most slots (at most n) whose `footprint` fits in `bytes`; 0 when not even one does.
    public static func slotCapacity(rows n: Int, budget bytes: Int) -> Int {
        guard n > 0 else { return 0 }
        var s = min(n, max(0, bytes / (n * MemoryLayout<Float>.stride)))
        while s > 0 && footprint(rows: n, slots: s) > bytes { s -= 1 }
        return s
    }

    /// A cache over the rows of `points`, allocating at most `byteBudget` bytes from `arena`.
    /// - Throws: `.invalidParameter` when the budget holds fewer than two rows (one when n = 1),
    ///   `.arena` when the arena has no room for the budget actually used.
    public init(points: Matrix, kernel: KernelFunction, byteBudget: Int, arena: ArenaAllocator,
                precomputeWhenFits: Bool = true) throws(KernelMachineError) {
        let n = points.rows
        let slots = Self.slotCapacity(rows: n, budget: byteBudget)
        guard n > 0, slots >= min(2, n) else {
            throw .invalidParameter("kernel cache of \(byteBudget) bytes holds \(slots) rows of \(n) floats; SMO needs 2")
        }
        self.kernel = kernel
        self.points = points
        self.count = n
        self.slotCount = slots
        do {
            norms = try arena.allocate(Float.self, count: n)
            diagonal = try arena.allocate(Float.self, count: n)
            rowSlot = try arena.allocate(Int32.self, count: n)
            storage = try arena.allocate(Float.self, count: slots * n).baseAddress!
            slotRow = try arena.allocate(Int32.self, count: slots)
            previous = try arena.allocate(Int32.self, count: slots)
            next = try arena.allocate(Int32.self, count: slots)
        } catch { throw .arena(error) }
        KernelBlock.squaredNorms(points, into: norms.baseAddress!)
        KernelBlock.diagonal(kernel, norms: norms.baseAddress!, count: n, into: diagonal.baseAddress!)
        holdsAllRows = precomputeWhenFits && slots == n
        if holdsAllRows {
            for i in 0..<n { rowSlot[i] = Int32(i); slotRow[i] = Int32(i) }
            computeAllRows()
        } else {
            rowSlot.initialize(repeating: -1)
            slotRow.initialize(repeating: -1)
            // All slots free, in a chain; the tail (slot s−1) is used first.
            for s in 0..<slots {
                previous[s] = Int32(s - 1)
                next[s] = s + 1 < slots ? Int32(s + 1) : -1
            }
            head = 0
            tail = Int32(slots - 1)
        }
    }

    /// Row i of the kernel matrix (n floats). The pointer stays valid while row i is among the
    /// `slotCount` most recently requested rows, so the last two requested rows are always valid.
    public func row(_ i: Int) -> UnsafePointer<Float> {
        precondition(i >= 0 && i < count)
        let cached = rowSlot[i]
        if cached >= 0 {
            hits += 1
            if !holdsAllRows { moveToFront(cached) }
            return UnsafePointer(storage + Int(cached) * count)
        }
        misses += 1
        let slot = tail
        let evicted = slotRow[Int(slot)]
        if evicted >= 0 { rowSlot[Int(evicted)] = -1 }
        slotRow[Int(slot)] = Int32(i)
        rowSlot[i] = slot
        moveToFront(slot)
        let out = storage + Int(slot) * count
        KernelBlock.compute(kernel, a: Matrix(base: points.row(i), rows: 1, columns: points.columns),
                            aNorms: norms.baseAddress! + i, b: points, bNorms: norms.baseAddress!,
                            into: out, ldc: count)
        out[i] = diagonal[i]
        return UnsafePointer(out)
    }

    /// Whether row i is held (a request would be a hit).
    public func isCached(_ i: Int) -> Bool { rowSlot[i] >= 0 }

    /// The held rows, most recently used first (all rows in index order when `holdsAllRows`).
    public var cachedRows: [Int] {
        if holdsAllRows { return Array(0..<count) }
        var rows: [Int] = []
        var s = head
        while s >= 0 {
            if slotRow[Int(s)] >= 0 { rows.append(Int(slotRow[Int(s)])) }
            s = next[Int(s)]
        }
        return rows
    }

    private func moveToFront(_ slot: Int32) {
        guard slot != head else { return }
        let s = Int(slot)
        // Unlink (slot is not the head, so it has a predecessor).
        next[Int(previous[s])] = next[s]
        if next[s] >= 0 { previous[Int(next[s])] = previous[s] } else { tail = previous[s] }
        previous[s] = -1
        next[s] = head
        previous[Int(head)] = slot
        head = slot
    }

    /// Every row at once: the upper triangle of X·Xᵀ by `ssyrk`, turned into kernel values, then
    /// mirrored in tiles (so the transposed reads stay in cache).
    private func computeAllRows() {
        let n = count, d = points.columns
        cblas_ssyrk(CblasRowMajor, CblasUpper, CblasNoTrans, Int32(n), Int32(d), 1, points.base, Int32(d),
                    0, storage, Int32(n))
        for i in 0..<n {
            let row = storage + i * n
            KernelBlock.transform(kernel, row: row + i, count: n - i, rowNorm: norms[i],
                                  columnNorms: norms.baseAddress! + i)
            row[i] = diagonal[i]
        }
        let tile = 32
        for i0 in stride(from: 0, to: n, by: tile) {
            for j0 in stride(from: i0, to: n, by: tile) {
                for i in i0..<min(i0 + tile, n) {
                    for j in max(j0, i + 1)..<max(max(j0, i + 1), min(j0 + tile, n)) {
                        storage[j * n + i] = storage[i * n + j]
                    }
                }
            }
        }
    }
}
