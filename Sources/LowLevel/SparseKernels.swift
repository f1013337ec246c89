import CPUControl

/// y[c..<end] (+)= Σₖ coefficient(k) · row(k)[c..<end] over the columns that fill whole 16-lane
/// vectors, 64 columns at a time in registers so each row is read once and y written once.
/// Returns the first column not covered (the caller handles the tail). Shared by the sparse and
/// dense row combinations; `term(k)` gives the k-th coefficient and the start of the k-th row.
///
/// Rows go in chunks of about 16 KB, each chunk through every column block before the next, so
/// the later blocks find a chunk's rows in L1 (one block's pass over all rows would push them out
/// before the next block reads them, and the hardware prefetcher's neighbouring lines with them).
/// Each column still adds the rows in order: the sums do not depend on the chunking.
@inline(__always)
private func combineRows(count: Int, columns n: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool,
                         _ term: (Int) -> (Float, UnsafePointer<Float>)) -> Int {
    let chunk = n <= 64 ? count : max(8, 4096 / n)
    guard count > chunk else { return combineRowBlocks(count: count, columns: n, into: y, accumulate: accumulate, term) }
    var start = 0, covered = 0
    while start < count {
        let rows = min(chunk, count &- start), first = start
        covered = combineRowBlocks(count: rows, columns: n, into: y, accumulate: accumulate || first > 0) { term(first &+ $0) }
        start &+= rows
    }
    return covered
}

@inline(__always)
private func combineRowBlocks(count: Int, columns n: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool,
                              _ term: (Int) -> (Float, UnsafePointer<Float>)) -> Int {
    var c = 0
    while c + 64 <= n {
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
        if accumulate { a0 = load16(y + c); a1 = load16(y + c + 16); a2 = load16(y + c + 32); a3 = load16(y + c + 48) }
        // Two rows a step halve the loop's bookkeeping; each accumulator still adds the rows in
        // order, so the sums are the same as one row at a time.
        var k = 0
        while k &+ 1 < count {
            let (c0, s0) = term(k), (c1, s1) = term(k &+ 1)
            let r0 = s0 + c, r1 = s1 + c
            let v0 = SIMD16<Float>(repeating: c0), v1 = SIMD16<Float>(repeating: c1)
            a0.addProduct(v0, load16(r0)); a0.addProduct(v1, load16(r1))
            a1.addProduct(v0, load16(r0 + 16)); a1.addProduct(v1, load16(r1 + 16))
            a2.addProduct(v0, load16(r0 + 32)); a2.addProduct(v1, load16(r1 + 32))
            a3.addProduct(v0, load16(r0 + 48)); a3.addProduct(v1, load16(r1 + 48))
            k &+= 2
        }
        if k < count {
            let (coefficient, start) = term(k)
            let row = start + c
            let v = SIMD16<Float>(repeating: coefficient)
            a0.addProduct(v, load16(row))
            a1.addProduct(v, load16(row + 16))
            a2.addProduct(v, load16(row + 32))
            a3.addProduct(v, load16(row + 48))
        }
        store16(a0, y + c); store16(a1, y + c + 16); store16(a2, y + c + 32); store16(a3, y + c + 48)
        c += 64
    }
    // The last one to three whole vectors in one pass over the rows, so their FMA chains overlap
    // (one pass per vector would leave each chain waiting on its own latency).
    switch (n - c) / 16 {
    case 3:
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>()
        if accumulate { a0 = load16(y + c); a1 = load16(y + c + 16); a2 = load16(y + c + 32) }
        for k in 0..<count {
            let (coefficient, start) = term(k)
            let row = start + c, v = SIMD16<Float>(repeating: coefficient)
            a0.addProduct(v, load16(row)); a1.addProduct(v, load16(row + 16)); a2.addProduct(v, load16(row + 32))
        }
        store16(a0, y + c); store16(a1, y + c + 16); store16(a2, y + c + 32)
        c += 48
    case 2:
        var a0 = SIMD16<Float>(), a1 = SIMD16<Float>()
        if accumulate { a0 = load16(y + c); a1 = load16(y + c + 16) }
        for k in 0..<count {
            let (coefficient, start) = term(k)
            let row = start + c, v = SIMD16<Float>(repeating: coefficient)
            a0.addProduct(v, load16(row)); a1.addProduct(v, load16(row + 16))
        }
        store16(a0, y + c); store16(a1, y + c + 16)
        c += 32
    case 1:
        var a = accumulate ? load16(y + c) : SIMD16<Float>()
        for k in 0..<count {
            let (coefficient, start) = term(k)
            a.addProduct(SIMD16(repeating: coefficient), load16(start + c))
        }
        store16(a, y + c)
        c += 16
    default:
        break
    }
    return c
}

/// The last n − c (< 16) columns of y (+)= Σᵢ coefficient(i) · M[i, :] for a dense m-row matrix:
/// whole 16-lane loads for every row whose 16 floats stay inside the matrix (the extra lanes read
/// the next row and are dropped), scalar for the rest; four accumulators so the FMA chains overlap.
@inline(__always)
private func denseTail(m: Int, from c: Int, columns n: Int, matrix: UnsafePointer<Float>, ld: Int,
                       into y: UnsafeMutablePointer<Float>, accumulate: Bool, _ coefficient: (Int) -> Float) {
    let tail = n &- c
    guard tail > 0, m > 0 else { return }
    // Rows i with i·ld + c + 16 ≤ (m − 1)·ld + n, the floats the matrix is known to span.
    let vectorRows = min(m, max(0, ((m &- 1) &* ld &+ n &- c &- 16) / ld &+ 1))
    var a0 = SIMD16<Float>(), a1 = SIMD16<Float>(), a2 = SIMD16<Float>(), a3 = SIMD16<Float>()
    var row = matrix + c, i = 0
    while i &+ 4 <= vectorRows {
        a0.addProduct(SIMD16(repeating: coefficient(i)), load16(row))
        a1.addProduct(SIMD16(repeating: coefficient(i &+ 1)), load16(row + ld))
        a2.addProduct(SIMD16(repeating: coefficient(i &+ 2)), load16(row + 2 &* ld))
        a3.addProduct(SIMD16(repeating: coefficient(i &+ 3)), load16(row + 3 &* ld))
        row += 4 &* ld
        i &+= 4
    }
    while i < vectorRows {
        a0.addProduct(SIMD16(repeating: coefficient(i)), load16(row))
        row += ld
        i &+= 1
    }
    let a = (a0 + a1) + (a2 + a3)
    for j in 0..<tail {
        var sum = a[j] + (accumulate ? y[c &+ j] : 0)
        for r in i..<m { sum += coefficient(r) * matrix[r &* ld &+ c &+ j] }
        y[c &+ j] = sum
    }
}

#if WIDE_VECTOR_REGISTERS
/// y[0..<n] (+)= Σₖ coefficient(k) · row(k)[0..<n] with a row's `vectors` = ⌈n/16⌉ (5 to 8)
/// vectors all in registers, so each row is read once, in one pass (the 64-column passes read it
/// two or three times). Needs AVX-512's 32 registers. A row's last, partial vector is loaded
/// whole (its extra lanes read the next row and are dropped), except from the matrix's last row
/// (`lastRow`), where it is gathered lane by lane. Shared by the dense and sparse products.
@inline(__always)
private func combineAllColumns(vectors: Int, count: Int, lastRow: UnsafePointer<Float>, columns n: Int,
                               into y: UnsafeMutablePointer<Float>, accumulate: Bool,
                               _ term: (Int) -> (Float, UnsafePointer<Float>)) {
    let partial = n &- 16 &* (vectors &- 1) // lanes used in the last vector, 1 to 16
    // Accumulating starts from y, so each lane is y + Σₖ in order, as the narrower paths add.
    @inline(__always) func start(_ v: Int) -> SIMD16<Float> {
        guard accumulate && v < vectors else { return SIMD16<Float>() }
        if v < vectors &- 1 { return load16(y + 16 &* v) }
        var last = SIMD16<Float>()
        for l in 0..<partial { last[l] = y[16 &* v &+ l] }
        return last
    }
    var a0 = start(0), a1 = start(1), a2 = start(2), a3 = start(3)
    var a4 = start(4), a5 = start(5), a6 = start(6), a7 = start(7)
    for k in 0..<count {
        let (coefficient, row) = term(k)
        let c = SIMD16<Float>(repeating: coefficient), isLast = row == lastRow
        @inline(__always) func vector(_ v: Int) -> SIMD16<Float> {
            guard isLast && v == vectors &- 1 else { return load16(row + 16 &* v) }
            var last = SIMD16<Float>()
            for l in 0..<partial { last[l] = row[16 &* v &+ l] }
            return last
        }
        a0.addProduct(c, vector(0))
        if vectors > 1 { a1.addProduct(c, vector(1)) }
        if vectors > 2 { a2.addProduct(c, vector(2)) }
        if vectors > 3 { a3.addProduct(c, vector(3)) }
        if vectors > 4 { a4.addProduct(c, vector(4)) }
        if vectors > 5 { a5.addProduct(c, vector(5)) }
        if vectors > 6 { a6.addProduct(c, vector(6)) }
        if vectors > 7 { a7.addProduct(c, vector(7)) }
    }
    @inline(__always) func put(_ a: SIMD16<Float>, _ v: Int) {
        guard v < vectors else { return }
        let out = y + 16 &* v
        if v < vectors &- 1 {
            store16(a, out)
        } else {
            for l in 0..<partial { out[l] = a[l] }
        }
    }
    put(a0, 0); put(a1, 1); put(a2, 2); put(a3, 3); put(a4, 4); put(a5, 5); put(a6, 6); put(a7, 7)
}

/// `combineAllColumns` when n needs 5 to 8 vectors (returns false otherwise), one specialisation each.
@inline(__always)
private func combineAllColumnsIfWide(count: Int, lastRow: UnsafePointer<Float>, columns n: Int, into y: UnsafeMutablePointer<Float>,
                                     accumulate: Bool, _ term: (Int) -> (Float, UnsafePointer<Float>)) -> Bool {
    switch (n + 15) / 16 {
    case 8: combineAllColumns(vectors: 8, count: count, lastRow: lastRow, columns: n, into: y, accumulate: accumulate, term)
    case 7: combineAllColumns(vectors: 7, count: count, lastRow: lastRow, columns: n, into: y, accumulate: accumulate, term)
    case 6: combineAllColumns(vectors: 6, count: count, lastRow: lastRow, columns: n, into: y, accumulate: accumulate, term)
    case 5: combineAllColumns(vectors: 5, count: count, lastRow: lastRow, columns: n, into: y, accumulate: accumulate, term)
    default: return false
    }
    return true
}
#endif

extension Kernels {
    /// y[0..<n] (+)= Σₖ coefficients[k] · M[rows[k], 0..<n] for a row-major matrix M with row stride
    /// `ld`: a sparse vector times a dense matrix. Accumulates 64 columns at a time in registers, so
    /// each selected row is read once and y is written once.
    /// - Parameter accumulate: add to y's contents (true) or overwrite them (false).
    /// - Precondition: every rows[k] indexes a row of M; y does not overlap M.
    public static func sparseRowCombination(coefficients: UnsafePointer<Float>, rows: UnsafePointer<Int32>, count: Int,
                                            matrix: UnsafePointer<Float>, ld: Int, columns n: Int,
                                            into y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        #if WIDE_VECTOR_REGISTERS
        // Rows below the highest index named are read whole; that row is gathered lane by lane.
        if count > 0 {
            var highest: Int32 = 0
            for k in 0..<count { highest = max(highest, rows[k]) }
            if combineAllColumnsIfWide(count: count, lastRow: matrix + Int(highest) * ld, columns: n, into: y, accumulate: accumulate,
                                       { k in (coefficients[k], matrix + Int(rows[k]) &* ld) }) { return }
        }
        #endif
        var c = combineRows(count: count, columns: n, into: y, accumulate: accumulate) { k in
            (coefficients[k], matrix + Int(rows[k]) &* ld)
        }
        while c < n {
            var a: Float = accumulate ? y[c] : 0
            for k in 0..<count { a += coefficients[k] * matrix[Int(rows[k]) * ld + c] }
            y[c] = a
            c += 1
        }
    }

    /// y[0..<n] (+)= Σᵢ x[i] · M[i, 0..<n] for i in 0..<m: a row vector times a row-major `m × n`
    /// matrix, 64 columns at a time in registers. Used instead of BLAS for single samples, where
    /// it is allocation-free whatever OpenBLAS's thread setting.
    public static func vectorMatrix(_ x: UnsafePointer<Float>, rows m: Int, matrix: UnsafePointer<Float>, ld: Int,
                                    columns n: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        #if WIDE_VECTOR_REGISTERS
        if m > 0, combineAllColumnsIfWide(count: m, lastRow: matrix + (m - 1) * ld, columns: n, into: y, accumulate: accumulate,
                                          { i in (x[i], matrix + i &* ld) }) { return }
        #endif
        let c = combineRows(count: m, columns: n, into: y, accumulate: accumulate) { i in (x[i], matrix + i * ld) }
        denseTail(m: m, from: c, columns: n, matrix: matrix, ld: ld, into: y, accumulate: accumulate) { x[$0] }
    }

    /// As `vectorMatrix`, with x's elements `stride` apart (a column of a row-major matrix).
    public static func stridedVectorMatrix(_ x: UnsafePointer<Float>, stride: Int, rows m: Int, matrix: UnsafePointer<Float>,
                                           ld: Int, columns n: Int, into y: UnsafeMutablePointer<Float>, accumulate: Bool) {
        if stride == 1 {
            vectorMatrix(x, rows: m, matrix: matrix, ld: ld, columns: n, into: y, accumulate: accumulate)
            return
        }
        let c = combineRows(count: m, columns: n, into: y, accumulate: accumulate) { i in (x[i * stride], matrix + i * ld) }
        denseTail(m: m, from: c, columns: n, matrix: matrix, ld: ld, into: y, accumulate: accumulate) { x[$0 * stride] }
    }

    /// Writes the non-zero elements of x[0..<n] as (index, value) pairs into `indices`/`values`,
    /// at most `capacity` of them. Returns how many were written, or nil when there are more than
    /// `capacity` (the caller then treats x as dense).
    public static func nonZeros(_ x: UnsafePointer<Float>, count n: Int, indices: UnsafeMutablePointer<Int32>,
                                values: UnsafeMutablePointer<Float>, capacity: Int) -> Int? {
        // One comparison per 16 elements gives a 16-bit mask (vcmpps + vmovmskps); set bits are
        // walked with tzcnt, so all-zero blocks (image borders) cost one compare.
        var found = 0
        var i = 0
        while i + 16 <= n {
            var bits = cpu_nonzero_mask16(x + i)
            if bits != 0 {
                guard found &+ bits.nonzeroBitCount <= capacity else { return nil }
                repeat {
                    let j = i &+ bits.trailingZeroBitCount
                    indices[found] = Int32(truncatingIfNeeded: j)
                    values[found] = x[j]
                    found &+= 1
                    bits &= bits &- 1
                } while bits != 0
            }
            i += 16
        }
        while i < n {
            if x[i] != 0 {
                guard found < capacity else { return nil }
                indices[found] = Int32(truncatingIfNeeded: i)
                values[found] = x[i]
                found += 1
            }
            i += 1
        }
        return found
    }
}
