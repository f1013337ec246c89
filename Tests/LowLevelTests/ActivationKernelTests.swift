import Testing
import Foundation
import LowLevel

private typealias Forward = @Sendable (UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void
private typealias Backward = @Sendable (UnsafePointer<Float>, UnsafePointer<Float>, UnsafeMutablePointer<Float>, Int) -> Void

private let activations: [(String, Forward, Backward, @Sendable (Double) -> Double)] = [
    ("relu", { Kernels.relu($0, into: $1, count: $2) },
     { Kernels.reluBackward(output: $0, outputGradient: $1, into: $2, count: $3) }, { max($0, 0) }),
    ("elu", { Kernels.elu($0, into: $1, count: $2) },
     { Kernels.eluBackward(output: $0, outputGradient: $1, into: $2, count: $3) }, { $0 > 0 ? $0 : Foundation.exp($0) - 1 }),
    ("sigmoid", { Kernels.sigmoid($0, into: $1, count: $2) },
     { Kernels.sigmoidBackward(output: $0, outputGradient: $1, into: $2, count: $3) }, { 1 / (1 + Foundation.exp(-$0)) }),
    ("tanh", { Kernels.tanh($0, into: $1, count: $2) },
     { Kernels.tanhBackward(output: $0, outputGradient: $1, into: $2, count: $3) }, { Foundation.tanh($0) }),
]

/// GELU's exact form against erf in double precision, forward and backward (which reads x), over
/// lengths with and without a vector tail, overwriting and accumulating.
@Test(arguments: [37, 16, 5]) func geluMatchesItsDefinition(n: Int) {
    let x = randomArray(n, seed: 60, scale: 8), dy = randomArray(n, seed: 61)
    var y = [Float](repeating: .nan, count: n)
    Kernels.gelu(x, into: &y, count: n)
    for i in 0..<n {
        let v = Double(x[i]), expected = 0.5 * v * (1 + erf(v / 2.0.squareRoot()))
        #expect(abs(Double(y[i]) - expected) < 1e-6 * max(1, abs(expected)), "gelu(\(v)) = \(y[i]), not \(expected)")
    }
    var dx = [Float](repeating: 1, count: n)
    Kernels.geluBackward(input: x, outputGradient: dy, into: &dx, count: n, accumulate: true)
    for i in 0..<n {
        let v = Double(x[i])
        let derivative = 0.5 * (1 + erf(v / 2.0.squareRoot())) + v * exp(-v * v / 2) / (2 * Double.pi).squareRoot()
        #expect(abs(Double(dx[i]) - (1 + Double(dy[i]) * derivative)) < 1e-5, "gelu'(\(v))")
    }
}

@Suite struct ActivationKernelTests {
    @Test(arguments: 0..<4) func forwardMatchesDefinition(index: Int) {
        let (name, forward, _, reference) = activations[index]
        let x = randomArray(37, seed: 10, scale: 6) + [0, 30, -30, 1e-4, -1e-4]
        var y = [Float](repeating: .nan, count: x.count)
        forward(x, &y, x.count)
        for i in x.indices {
            #expect(abs(Double(y[i]) - reference(Double(x[i]))) < 3e-7 * max(1, abs(reference(Double(x[i])))),
                    "\(name)(\(x[i])) = \(y[i])")
        }
        // In place gives the same result.
        var z = x
        forward(z, &z, z.count)
        #expect(z == y)
    }

    /// Backward against central finite differences of the forward kernel (in Double via the reference).
    @Test(arguments: 0..<4) func backwardMatchesFiniteDifferences(index: Int) {
        let (name, forward, backward, reference) = activations[index]
        // Keep away from the kink of relu/elu at 0, where the derivative is not defined.
        let x = randomArray(41, seed: 11, scale: 4).map { abs($0) < 0.05 ? $0 + 0.2 : $0 }
        let dy = randomArray(41, seed: 12)
        var y = [Float](repeating: 0, count: x.count)
        forward(x, &y, x.count)
        var dx = [Float](repeating: .nan, count: x.count)
        backward(y, dy, &dx, x.count)
        for i in x.indices {
            let h = 1e-3
            let numeric = (reference(Double(x[i]) + h) - reference(Double(x[i]) - h)) / (2 * h) * Double(dy[i])
            #expect(abs(Double(dx[i]) - numeric) < 1e-4 + 1e-3 * abs(numeric), "\(name)' at \(x[i])")
        }
    }
}

@Suite struct SoftmaxKernelTests {
    @Test func softmaxRowsSumToOneAndSurviveHugeLogits() {
        let rows = 3, columns = 21
        var x = randomArray(rows * columns, seed: 20, scale: 5)
        x[0] = 1000; x[columns + 3] = -1000; x[2 * columns + 5] = 88
        var y = [Float](repeating: 0, count: x.count)
        Kernels.softmaxRows(x, into: &y, rows: rows, columns: columns)
        for r in 0..<rows {
            let row = Array(y[(r * columns)..<((r + 1) * columns)])
            #expect(abs(row.reduce(0, +) - 1) < 1e-5)
            #expect(row.allSatisfy { $0.isFinite && $0 >= 0 })
            let xr = (0..<columns).map { Double(x[r * columns + $0]) }
            let m = xr.max()!
            let denominator = xr.reduce(0) { $0 + Foundation.exp($1 - m) }
            for j in 0..<columns {
                #expect(abs(Double(row[j]) - Foundation.exp(xr[j] - m) / denominator) < 1e-6)
            }
        }
        #expect(y[0] > 0.999)
    }

    /// Rows shorter than one vector (a classifier's outputs) take their own path.
    @Test(arguments: Array(1...17)) func shortRowsMatchTheDefinition(columns: Int) {
        var x = randomArray(2 * columns, seed: UInt64(columns), scale: 8)
        x[0] = 90; if columns > 1 { x[columns + 1] = -.infinity }
        var y = [Float](repeating: -7, count: x.count + 3)
        Kernels.softmaxRows(x, into: &y, rows: 2, columns: columns)
        for r in 0..<2 {
            let xr = (0..<columns).map { Double(x[r * columns + $0]) }
            let m = xr.max()!
            let denominator = xr.reduce(0) { $0 + Foundation.exp($1 - m) }
            for j in 0..<columns {
                #expect(abs(Double(y[r * columns + j]) - Foundation.exp(xr[j] - m) / denominator) < 1e-6, "[\(r), \(j)]")
            }
        }
        #expect(y[(2 * columns)...] == [-7, -7, -7], "wrote past the rows")
    }

    @Test func logSoftmaxMatchesLogOfSoftmax() {
        let rows = 2, columns = 10
        let x = randomArray(rows * columns, seed: 21, scale: 30)
        var log = [Float](repeating: 0, count: x.count), soft = log
        Kernels.logSoftmaxRows(x, into: &log, rows: rows, columns: columns)
        Kernels.softmaxRows(x, into: &soft, rows: rows, columns: columns)
        for i in x.indices where soft[i] > 1e-30 {
            #expect(abs(log[i] - Foundation.log(soft[i])) < 1e-4 * max(1, abs(log[i])))
        }
        let lse = Kernels.logSumExp([1000, 1000], count: 2)
        #expect(abs(lse - (1000 + Foundation.log(2))) < 1e-3)
    }
}

@Suite struct OptimizerKernelTests {
    @Test func updatesMatchTheirFormulas() {
        let n = 37
        let w0 = randomArray(n, seed: 30), g = randomArray(n, seed: 31)
        var w = w0
        Kernels.sgdUpdate(&w, gradient: g, learningRate: 0.1, decay: 0.01, count: n)
        for i in 0..<n { #expect(abs(w[i] - (w0[i] - 0.1 * (g[i] + 0.01 * w0[i]))) < 1e-6) }

        var v = randomArray(n, seed: 32)
        let v0 = v
        w = w0
        Kernels.momentumUpdate(&w, gradient: g, velocity: &v, learningRate: 0.1, momentum: 0.9, decay: 0.01, count: n)
        for i in 0..<n {
            let vel = 0.9 * v0[i] + g[i] + 0.01 * w0[i]
            #expect(abs(v[i] - vel) < 1e-6 && abs(w[i] - (w0[i] - 0.1 * vel)) < 1e-6)
        }

        var m = randomArray(n, seed: 33), s = randomArray(n, seed: 34).map(abs)
        let m0 = m, s0 = s
        w = w0
        Kernels.adamUpdate(&w, gradient: g, firstMoment: &m, secondMoment: &s, learningRate: 0.01, beta1: 0.9,
                           beta2: 0.999, epsilon: 1e-8, decay: 0, step: 3, count: n)
        for i in 0..<n {
            let mi = 0.9 * Double(m0[i]) + 0.1 * Double(g[i])
            let si = 0.999 * Double(s0[i]) + 0.001 * Double(g[i]) * Double(g[i])
            let mh = mi / (1 - pow(0.9, 3)), sh = si / (1 - pow(0.999, 3))
            let expected = Double(w0[i]) - 0.01 * mh / (sh.squareRoot() + 1e-8)
            #expect(abs(Double(w[i]) - expected) < 1e-5)
        }
    }

    /// AdamW: w ← (1 − ηλ)w, then Adam on the raw gradient (PyTorch's decoupled form).
    @Test(arguments: [37, 5, 64]) func adamWMatchesItsFormula(n: Int) {
        let w0 = randomArray(n, seed: 50), g = randomArray(n, seed: 51)
        var w = w0, m = randomArray(n, seed: 52), s = randomArray(n, seed: 53).map(abs)
        let m0 = m, s0 = s
        Kernels.adamWUpdate(&w, gradient: g, firstMoment: &m, secondMoment: &s, learningRate: 0.01, beta1: 0.9,
                            beta2: 0.99, epsilon: 1e-8, decay: 0.1, step: 2, count: n)
        for i in 0..<n {
            let mi = 0.9 * Double(m0[i]) + 0.1 * Double(g[i])
            let si = 0.99 * Double(s0[i]) + 0.01 * Double(g[i]) * Double(g[i])
            let mh = mi / (1 - pow(0.9, 2)), sh = si / (1 - pow(0.99, 2))
            let expected = Double(w0[i]) * (1 - 0.01 * 0.1) - 0.01 * mh / (sh.squareRoot() + 1e-8)
            #expect(abs(Double(w[i]) - expected) < 1e-5)
        }
    }

    /// Adagrad: s += g'², w −= η·g'/(√s + ε), g' = g + λw, in vector and scalar-tail lanes alike.
    @Test(arguments: [37, 5, 64]) func adagradMatchesItsFormula(n: Int) {
        let w0 = randomArray(n, seed: 40), g = randomArray(n, seed: 41)
        var w = w0, s = randomArray(n, seed: 42).map(abs)
        let s0 = s
        Kernels.adagradUpdate(&w, gradient: g, squares: &s, learningRate: 0.05, epsilon: 1e-8, decay: 0.01, count: n)
        for i in 0..<n {
            let grad = Double(g[i]) + 0.01 * Double(w0[i]), si = Double(s0[i]) + grad * grad
            #expect(abs(Double(s[i]) - si) < 1e-5 * max(1, si))
            #expect(abs(Double(w[i]) - (Double(w0[i]) - 0.05 * grad / (si.squareRoot() + 1e-8))) < 1e-5)
        }
    }

    /// LAMB: Adam's bias-corrected moments, r = m̂/(√ŝ + ε) + λw, and one step of length
    /// η·‖w‖/‖r‖ along r for the whole tensor (the trust ratio).
    @Test(arguments: [37, 5, 64]) func lambMatchesItsFormula(n: Int) {
        let w0 = randomArray(n, seed: 43), g = randomArray(n, seed: 44)
        var w = w0, m = randomArray(n, seed: 45), s = randomArray(n, seed: 46).map(abs)
        let m0 = m, s0 = s
        Kernels.lambUpdate(&w, gradient: g, firstMoment: &m, secondMoment: &s, learningRate: 0.01, beta1: 0.9, beta2: 0.999,
                           epsilon: 1e-6, decay: 0.02, step: 4, count: n)
        var r = [Double](repeating: 0, count: n)
        for i in 0..<n {
            let mi = 0.9 * Double(m0[i]) + 0.1 * Double(g[i]), si = 0.999 * Double(s0[i]) + 0.001 * Double(g[i]) * Double(g[i])
            #expect(abs(Double(m[i]) - mi) < 1e-6 && abs(Double(s[i]) - si) < 1e-6)
            r[i] = (mi / (1 - pow(0.9, 4))) / ((si / (1 - pow(0.999, 4))).squareRoot() + 1e-6) + 0.02 * Double(w0[i])
        }
        let ratio = (w0.reduce(0) { $0 + Double($1) * Double($1) } / r.reduce(0) { $0 + $1 * $1 }).squareRoot()
        for i in 0..<n { #expect(abs(Double(w[i]) - (Double(w0[i]) - 0.01 * ratio * r[i])) < 1e-5, "[\(i)]") }
        // A zero tensor (a fresh bias) takes the plain step: the trust ratio is 1.
        var zero = [Float](repeating: 0, count: n), m2 = [Float](repeating: 0, count: n), s2 = m2
        Kernels.lambUpdate(&zero, gradient: g, firstMoment: &m2, secondMoment: &s2, learningRate: 0.01, beta1: 0.9, beta2: 0.999,
                           epsilon: 1e-6, decay: 0, step: 1, count: n)
        for i in 0..<n where g[i] != 0 { #expect(abs(abs(zero[i]) - 0.01) < 1e-3, "[\(i)] \(zero[i])") }
    }
}
