import ModelFile
/// A row-major view of `rows × columns` floats owned by someone else (usually an arena).
/// In a network, rows are the samples of a batch and columns their features.
public struct Matrix {
    public let base: UnsafeMutablePointer<Float>
    public let rows: Int
    public let columns: Int

    /// - Precondition: `base` is valid for `rows * columns` floats.
    public init(base: UnsafeMutablePointer<Float>, rows: Int, columns: Int) {
        precondition(rows >= 0 && columns >= 0)
        self.base = base
        self.rows = rows
        self.columns = columns
    }

    /// Views `buffer` as a matrix. - Precondition: it holds at least `rows * columns` floats.
    public init(_ buffer: UnsafeMutableBufferPointer<Float>, rows: Int, columns: Int) {
        precondition(rows * columns <= buffer.count, "matrix \(rows)x\(columns) does not fit in \(buffer.count) floats")
        self.init(base: buffer.baseAddress!, rows: rows, columns: columns)
    }

    public var count: Int { rows * columns }

    /// The first `rows` rows (a smaller batch in a buffer sized for the largest).
    public func prefix(rows n: Int) -> Matrix {
        precondition(n <= rows)
        return Matrix(base: base, rows: n, columns: columns)
    }

    public func row(_ i: Int) -> UnsafeMutablePointer<Float> { base + i * columns }

    public subscript(row: Int, column: Int) -> Float {
        get { base[row * columns + column] }
        nonmutating set { base[row * columns + column] = newValue }
    }

    public var buffer: UnsafeMutableBufferPointer<Float> { UnsafeMutableBufferPointer(start: base, count: count) }
}
