/// Lane-wise minimum and maximum by compare and select, one instruction each. The standard
/// library's `pointwiseMin`/`pointwiseMax` on `SIMD16<Float>` compile to a loop over the lanes
/// (IEEE minNum's NaN rules), which made every `exp16` caller (GELU, sigmoid, softmax) several
/// times slower. A NaN in `y` is ignored (the result is `x`); a NaN in `x` stays.
@inline(__always)
func min16(_ x: SIMD16<Float>, _ y: SIMD16<Float>) -> SIMD16<Float> { x.replacing(with: y, where: y .< x) }

@inline(__always)
func max16(_ x: SIMD16<Float>, _ y: SIMD16<Float>) -> SIMD16<Float> { x.replacing(with: y, where: y .> x) }

/// The sum of 16 lanes as a tree of half-width additions (8, 4, 2, 1), inlined. The standard
/// library's `sum()` is a call to a loop over the lanes; in a dot product of 32 elements (an
/// attention head's) it cost more than the products.
@_transparent
func horizontalSum(_ v: SIMD16<Float>) -> Float {
    let eight = v.lowHalf + v.highHalf, four = eight.lowHalf + eight.highHalf, two = four.lowHalf + four.highHalf
    return two[0] + two[1]
}

/// The largest of 16 lanes, as a tree of half-width selects (NaN lanes ignored unless in both
/// halves).
@_transparent
func horizontalMax(_ v: SIMD16<Float>) -> Float {
    let eight = v.lowHalf.replacing(with: v.highHalf, where: v.highHalf .> v.lowHalf)
    let four = eight.lowHalf.replacing(with: eight.highHalf, where: eight.highHalf .> eight.lowHalf)
    let two = four.lowHalf.replacing(with: four.highHalf, where: four.highHalf .> four.lowHalf)
    return two[1] > two[0] ? two[1] : two[0]
}

/// e^x for 16 lanes: range reduction x = n·ln2 + r with |r| ≤ ln2/2, a degree-6 Taylor polynomial
/// for e^r (relative error below 2e-7), and 2^n built from the exponent bits. Inputs are clamped to
/// [−86, 88] so the result stays a normal float (e^−87 can round to a denormal, and every
/// operation on a denormal costs Intel CPUs a microcode assist: a causal softmax's masked lanes
/// made attention 2× slower); NaN stays NaN. Transparent, so always inlined:
/// as a call, the Swift calling convention splits the vector into four 128-bit pieces.
@_transparent
func exp16(_ x: SIMD16<Float>) -> SIMD16<Float> {
    let clamped = min16(max16(x, SIMD16(repeating: -86)), SIMD16(repeating: 88))
    // Adding 1.5·2²³ rounds to the nearest integer and leaves it in the low mantissa bits; this
    // avoids the generic float-to-integer SIMD conversion, which does not specialise.
    let shifted = SIMD16<Float>(repeating: 12_582_912).addingProduct(clamped, SIMD16(repeating: 1.442_695_04))
    let n = shifted - 12_582_912
    // ln 2 split in two so n·ln2 is subtracted without rounding error.
    var r = clamped.addingProduct(n, SIMD16(repeating: -0.693_145_75))
    r = r.addingProduct(n, SIMD16(repeating: -1.428_606_8e-6))
    var p = SIMD16<Float>(repeating: 1.0 / 720)
    p = p * r + 1.0 / 120
    p = p * r + 1.0 / 24
    p = p * r + 1.0 / 6
    p = p * r + 0.5
    p = p * r + 1
    p = p * r + 1
    let bits = (unsafeBitCast(shifted, to: SIMD16<Int32>.self) &- 0x4B40_0000 &+ 127) &<< 23
    let result = p * unsafeBitCast(bits, to: SIMD16<Float>.self)
    return result.replacing(with: x, where: x .!= x)
}

/// Applies `f` to `n` elements of `x`, writing `y` (which may be `x`), 16 at a time; the tail goes
/// through one zero-padded vector so every element sees the same arithmetic.
@inline(__always)
func map16(_ x: UnsafePointer<Float>, _ y: UnsafeMutablePointer<Float>, _ n: Int,
           _ f: (SIMD16<Float>) -> SIMD16<Float>) {
    var i = 0
    while i + 16 <= n { store16(f(load16(x + i)), y + i); i += 16 }
    let tail = n - i
    if tail > 0 {
        var v = SIMD16<Float>()
        for j in 0..<tail { v[j] = x[i + j] }
        let out = f(v)
        for j in 0..<tail { y[i + j] = out[j] }
    }
}

/// z = f(a, b) element-wise over `n` elements, 16 at a time, tail zero-padded. `z` may alias `a` or `b`.
@inline(__always)
func zipMap16(_ a: UnsafePointer<Float>, _ b: UnsafePointer<Float>, _ z: UnsafeMutablePointer<Float>, _ n: Int,
              _ f: (SIMD16<Float>, SIMD16<Float>) -> SIMD16<Float>) {
    var i = 0
    while i + 16 <= n { store16(f(load16(a + i), load16(b + i)), z + i); i += 16 }
    let tail = n - i
    if tail > 0 {
        var u = SIMD16<Float>(), v = SIMD16<Float>()
        for j in 0..<tail { u[j] = a[i + j]; v[j] = b[i + j] }
        let out = f(u, v)
        for j in 0..<tail { z[i + j] = out[j] }
    }
}

extension Kernels {
    /// y = eˣ element-wise (`y` may be `x`). Relative error below 1e-6 for x in [−87, 88].
    public static func exp(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, count n: Int) {
        map16(x, y, n, exp16)
    }
}
