/// A batch held as its non-zero entries, by row (CSR) and by column (CSC), in memory the caller
/// provides (`bytes(maxBatch:columns:)` of it, 64-byte aligned).
///
/// Inputs such as MNIST digits are mostly zeros (about 81% of pixels). For a dense layer fed by
/// such input, y = x·W touches only the rows of W selected by non-zero inputs, and dW = xᵀ·dy only
/// the rows of dW for inputs that are non-zero somewhere in the batch. Doing just that work beats a
/// dense GEMM below about 35% density; above it, `load` declines and the layer uses the GEMM.
///
/// A view: every field lives in the memory, including how many rows are loaded, so a view made
/// again over the same memory (in backward, after forward) sees what `load` left.
public struct SparseBatch {
    /// Largest share of non-zeros handled sparsely.
    public static let maximumDensity = 0.35

    public let maxBatch: Int
    public let columns: Int
    public let capacity: Int
    private let header: UnsafeMutablePointer<Int32>
    // CSR: entries of row r are rowStart[r]..<rowStart[r + 1].
    public let rowStart: UnsafeMutablePointer<Int32>
    public let rowColumn: UnsafeMutablePointer<Int32>
    public let rowValue: UnsafeMutablePointer<Float>
    // CSC: entries of column c are columnStart[c]..<columnStart[c + 1].
    public let columnStart: UnsafeMutablePointer<Int32>
    public let columnRow: UnsafeMutablePointer<Int32>
    public let columnValue: UnsafeMutablePointer<Float>

    public static func capacity(maxBatch: Int, columns: Int) -> Int {
        Int((Double(maxBatch * columns) * maximumDensity).rounded(.up))
    }

    private static func round(_ bytes: Int) -> Int { (bytes + 63) & ~63 }

    /// Bytes of memory a batch of up to `maxBatch` rows of `columns` needs.
    public static func bytes(maxBatch: Int, columns: Int) -> Int {
        let n = capacity(maxBatch: maxBatch, columns: columns)
        return 64 + round(4 * (maxBatch + 1)) + round(4 * (columns + 1)) + 4 * round(4 * n)
    }

    /// A view over `memory`, which holds `bytes(maxBatch:columns:)` bytes.
    public init(memory: UnsafeMutableRawPointer, maxBatch: Int, columns: Int) {
        self.maxBatch = maxBatch
        self.columns = columns
        let n = Self.capacity(maxBatch: maxBatch, columns: columns)
        capacity = n
        var cursor = memory
        func take<T>(_ type: T.Type, _ count: Int) -> UnsafeMutablePointer<T> {
            defer { cursor += Self.round(MemoryLayout<T>.stride * count) }
            return cursor.bindMemory(to: T.self, capacity: count)
        }
        header = take(Int32.self, 16)
        rowStart = take(Int32.self, maxBatch + 1)
        columnStart = take(Int32.self, columns + 1)
        rowColumn = take(Int32.self, n)
        columnRow = take(Int32.self, n)
        rowValue = take(Float.self, n)
        columnValue = take(Float.self, n)
    }

    /// Rows currently loaded (0 when the last `load` declined).
    public var rows: Int { Int(header[0]) }

    /// Most non-zeros a single row of `columns` may have to be handled sparsely.
    public static func rowLimit(columns: Int) -> Int { Int(Double(columns) * maximumDensity) }

    /// Loads `rows` rows of `x` (row-major, `columns` wide) if sparse enough; returns false (and
    /// loads nothing) otherwise.
    public func load(_ x: UnsafePointer<Float>, rows: Int) -> Bool {
        precondition(rows <= maxBatch)
        header[0] = 0
        let limit = rows == 1 ? Self.rowLimit(columns: columns) : min(capacity, Int(Double(rows * columns) * Self.maximumDensity))
        var used = 0
        rowStart[0] = 0
        for r in 0..<rows {
            guard let found = Kernels.nonZeros(x + r * columns, count: columns, indices: rowColumn + used,
                                               values: rowValue + used, capacity: limit - used) else {
                return false
            }
            used += found
            rowStart[r + 1] = Int32(used)
        }
        header[0] = Int32(rows)
        return true
    }

    /// Fills the column view from the row view (a counting sort by column).
    public func buildColumns() {
        let rows = self.rows
        let total = Int(rowStart[rows])
        let starts = columnStart, entryColumn = rowColumn
        starts.update(repeating: 0, count: columns + 1)
        // Count each column's entries one slot ahead, so the prefix sum yields start positions.
        for k in 0..<total { starts[Int(entryColumn[k]) &+ 1] &+= 1 }
        for c in 0..<columns { starts[c + 1] &+= starts[c] }
        // Scatter using starts[c] as a cursor; afterwards starts[c] is the end of column c,
        // which is the start of column c + 1.
        for r in 0..<rows {
            for k in Int(rowStart[r])..<Int(rowStart[r + 1]) {
                let c = Int(entryColumn[k])
                let slot = Int(starts[c])
                columnRow[slot] = Int32(truncatingIfNeeded: r)
                columnValue[slot] = rowValue[k]
                starts[c] = Int32(truncatingIfNeeded: slot &+ 1)
            }
        }
        var c = columns
        while c > 0 { starts[c] = starts[c - 1]; c -= 1 }
        starts[0] = 0
    }
}

extension Kernels {
    /// y = b + x·W for one sample (W is `inputs × outputs`), from the non-zero inputs when at most
    /// `SparseBatch.rowLimit` of them are non-zero (`indices`/`values` are scratch for `inputs`
    /// entries; nil skips the check), else a SIMD vector-matrix product. Training's batch-of-one
    /// path and the C runtime both call this, so both give bit-identical outputs.
    public static func denseOne(_ x: UnsafePointer<Float>, inputs: Int, outputs: Int, weight: UnsafePointer<Float>,
                                bias: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>,
                                indices: UnsafeMutablePointer<Int32>?, values: UnsafeMutablePointer<Float>?) {
        y.update(from: bias, count: outputs)
        if let indices, let values,
           let count = Kernels.nonZeros(x, count: inputs, indices: indices, values: values,
                                        capacity: SparseBatch.rowLimit(columns: inputs)) {
            Kernels.sparseRowCombination(coefficients: values, rows: indices, count: count, matrix: weight,
                                         ld: outputs, columns: outputs, into: y, accumulate: true)
        } else {
            Kernels.vectorMatrix(x, rows: inputs, matrix: weight, ld: outputs, columns: outputs, into: y, accumulate: true)
        }
    }
}
