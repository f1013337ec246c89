import Testing
import LowLevel

/// Lengths that exercise the 64-wide, 16-wide and scalar-tail paths.
let lengths = [0, 1, 5, 16, 17, 63, 64, 65, 130, 1000]

func randomArray(_ n: Int, seed: UInt64, scale: Float = 1) -> [Float] {
    var rng = SplitMix(seed: seed)
    return (0..<n).map { _ in rng.nextFloat() * scale }
}

@Suite struct VectorKernelTests {
    @Test(arguments: lengths) func axpyDotScaleAddMatchScalarLoops(n: Int) {
        let x = randomArray(n, seed: 1), y0 = randomArray(n, seed: 2)
        var y = y0
        Kernels.axpy(0.75, x, &y, count: n)
        for i in 0..<n { #expect(y[i] == y0[i] + 0.75 * x[i] || abs(y[i] - (y0[i] + 0.75 * x[i])) < 1e-6) }

        let expectedDot = zip(x, y0).reduce(Double(0)) { $0 + Double($1.0) * Double($1.1) }
        #expect(abs(Double(Kernels.dot(x, y0, count: n)) - expectedDot) < 1e-4)

        var s = x
        Kernels.scale(&s, by: -2, count: n)
        #expect(s == x.map { $0 * -2 })

        var z = [Float](repeating: 9, count: n)
        Kernels.add(x, y0, into: &z, count: n)
        #expect(z == zip(x, y0).map { $0 + $1 })
        Kernels.subtract(x, y0, into: &z, count: n)
        #expect(z == zip(x, y0).map { $0 - $1 })
        Kernels.multiply(x, y0, into: &z, count: n)
        #expect(z == zip(x, y0).map { $0 * $1 })

        #expect(abs(Kernels.sum(x, count: n) - x.reduce(0, +)) < 1e-4)
        if n > 0 {
            #expect(Kernels.maximum(x, count: n) == x.max()!)
            #expect(Kernels.argmax(x, count: n) == x.firstIndex(of: x.max()!)!)
        } else {
            #expect(Kernels.maximum(x, count: 0) == -.infinity)
        }
        var f = x
        Kernels.fill(&f, with: 3, count: n)
        #expect(f.allSatisfy { $0 == 3 })
    }

    @Test func allFiniteDetectsNaNAndInfinityAnywhere() {
        for n in [1, 17, 70] {
            for position in [0, n / 2, n - 1] {
                for bad in [Float.nan, .infinity, -.infinity] {
                    var x = randomArray(n, seed: 3)
                    #expect(Kernels.allFinite(x, count: n))
                    x[position] = bad
                    #expect(!Kernels.allFinite(x, count: n), "\(bad) at \(position) of \(n)")
                }
            }
        }
    }

    @Test func biasAddAndColumnSums() {
        let rows = 5, columns = 19
        let x0 = randomArray(rows * columns, seed: 4), bias = randomArray(columns, seed: 5)
        var x = x0
        Kernels.addBias(bias, to: &x, rows: rows, columns: columns)
        for r in 0..<rows { for c in 0..<columns { #expect(x[r * columns + c] == x0[r * columns + c] + bias[c]) } }
        var sums = [Float](repeating: 1, count: columns)
        Kernels.accumulateColumnSums(x0, rows: rows, columns: columns, into: &sums)
        for c in 0..<columns {
            let expected = 1 + (0..<rows).reduce(Float(0)) { $0 + x0[$1 * columns + c] }
            #expect(abs(sums[c] - expected) < 1e-5)
        }
    }

    @Test func convertScalesBytes() {
        let bytes = (0..<300).map { UInt8(truncatingIfNeeded: $0 * 7) }
        var out = [Float](repeating: -1, count: 300)
        Kernels.convert(bytes, scale: 1 / 255, into: &out, count: 300)
        for i in 0..<300 { #expect(out[i] == Float(bytes[i]) * (1 / 255)) }
    }

    @Test func expIsAccurateAcrossTheRange() {
        let x: [Float] = stride(from: -86, through: 87, by: 0.37).map { Float($0) } + [0, 1e-7, -1e-7]
        var y = [Float](repeating: 0, count: x.count)
        Kernels.exp(x, into: &y, count: x.count)
        for i in x.indices {
            let exact = Foundation.exp(Double(x[i]))
            #expect(abs(Double(y[i]) - exact) / exact < 1e-6, "exp(\(x[i]))")
        }
        var special: [Float] = [.nan, 200, -200]
        Kernels.exp(special, into: &special, count: 3)
        #expect(special[0].isNaN && special[1] > 1e38 && special[2] < 1e-37 && special[2] >= 0)
    }
}

import Foundation
