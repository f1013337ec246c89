import Arena
import LowLevel

/// A batch held as its non-zero entries, by row (CSR) and by column (CSC).
///
/// Inputs such as MNIST digits are mostly zeros (about 81% of pixels). For a dense layer fed by
/// such input, y = x·W touches only the rows of W selected by non-zero inputs, and dW = xᵀ·dy only
/// the rows of dW for inputs that are non-zero somewhere in the batch. Doing just that work beats a
/// dense GEMM below about 35% density; above it, `load` declines and the layer uses the GEMM.
/// All storage is allocated from the arena at construction.
final class SparseInput {
    /// Largest share of non-zeros handled sparsely.
    static let maximumDensity = 0.35

    let maxBatch: Int
    let columns: Int
    let capacity: Int
    private let arena: ArenaAllocator
    // CSR: entries of row r are rowStart[r]..<rowStart[r + 1].
    let rowStart: UnsafeMutableBufferPointer<Int32>
    let rowColumn: UnsafeMutableBufferPointer<Int32>
    let rowValue: UnsafeMutableBufferPointer<Float>
    // CSC: entries of column c are columnStart[c]..<columnStart[c + 1].
    let columnStart: UnsafeMutableBufferPointer<Int32>
    let columnRow: UnsafeMutableBufferPointer<Int32>
    let columnValue: UnsafeMutableBufferPointer<Float>
    /// Rows currently loaded (0 when the last `load` declined).
    private(set) var rows = 0

    static func capacity(maxBatch: Int, columns: Int) -> Int {
        Int((Double(maxBatch * columns) * maximumDensity).rounded(.up))
    }

    static func arenaBytes(maxBatch: Int, columns: Int) -> Int {
        let n = capacity(maxBatch: maxBatch, columns: columns)
        return ArenaAllocator.footprint(of: Int32.self, count: maxBatch + 1)
            + ArenaAllocator.footprint(of: Int32.self, count: columns + 1)
            + 2 * ArenaAllocator.footprint(of: Int32.self, count: n)
            + 2 * ArenaAllocator.footprint(of: Float.self, count: n)
    }

    init(maxBatch: Int, columns: Int, arena: ArenaAllocator) throws(ArenaError) {
        self.maxBatch = maxBatch
        self.columns = columns
        self.arena = arena
        capacity = Self.capacity(maxBatch: maxBatch, columns: columns)
        rowStart = try arena.allocate(Int32.self, count: maxBatch + 1)
        columnStart = try arena.allocate(Int32.self, count: columns + 1)
        rowColumn = try arena.allocate(Int32.self, count: capacity)
        columnRow = try arena.allocate(Int32.self, count: capacity)
        rowValue = try arena.allocate(Float.self, count: capacity)
        columnValue = try arena.allocate(Float.self, count: capacity)
    }

    /// Most non-zeros a single row of `columns` may have to be handled sparsely.
    static func rowLimit(columns: Int) -> Int { Int(Double(columns) * maximumDensity) }

    /// Loads `x` by rows if it is sparse enough; returns false (and loads nothing) otherwise.
    func load(_ x: Matrix) -> Bool {
        precondition(x.columns == columns && x.rows <= maxBatch)
        rows = 0
        let limit = x.rows == 1 ? Self.rowLimit(columns: columns) : min(capacity, Int(Double(x.count) * Self.maximumDensity))
        var used = 0
        rowStart[0] = 0
        for r in 0..<x.rows {
            guard let found = Kernels.nonZeros(x.row(r), count: columns, indices: rowColumn.baseAddress! + used,
                                               values: rowValue.baseAddress! + used, capacity: limit - used) else {
                return false
            }
            used += found
            rowStart[r + 1] = Int32(used)
        }
        rows = x.rows
        return true
    }

    /// Fills the column view from the row view (a counting sort by column).
    func buildColumns() {
        let total = Int(rowStart[rows])
        let starts = columnStart.baseAddress!, entryColumn = rowColumn.baseAddress!
        starts.update(repeating: 0, count: columns + 1)
        // Count each column's entries one slot ahead, so the prefix sum yields start positions.
        for k in 0..<total { starts[Int(entryColumn[k]) &+ 1] &+= 1 }
        for c in 0..<columns { starts[c + 1] &+= starts[c] }
        // Scatter using starts[c] as a cursor; afterwards starts[c] is the end of column c,
        // which is the start of column c + 1.
        let rowsOut = columnRow.baseAddress!, valuesOut = columnValue.baseAddress!, valuesIn = rowValue.baseAddress!
        for r in 0..<rows {
            for k in Int(rowStart[r])..<Int(rowStart[r + 1]) {
                let c = Int(entryColumn[k])
                let slot = Int(starts[c])
                rowsOut[slot] = Int32(truncatingIfNeeded: r)
                valuesOut[slot] = valuesIn[k]
                starts[c] = Int32(truncatingIfNeeded: slot &+ 1)
            }
        }
        var c = columns
        while c > 0 { starts[c] = starts[c - 1]; c -= 1 }
        starts[0] = 0
    }
}
