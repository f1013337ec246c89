import Testing
import Foundation
import Arena
import Classic
import Infer
import Training
import ModelFile
import KernelMachines
import LowLevel

@Suite struct KernelRidgeTests {
    init() { BLAS.configure(threads: 1) }

    let xs: [Float] = [0, 0.5, 1.3, 2], ys: [Float] = [1, -0.5, 0.7, 2]
    let sigma: Float = 0.8

    func set(arena: ArenaAllocator) throws -> SampleSet {
        try SampleSet(values: xs, rows: 4, columns: 1, targets: ys, arena: arena)
    }

    /// v = (K + nλI)⁻¹y by Gaussian elimination in Double, then f(x) = Σ vᵢ exp(−(x − xᵢ)²/σ).
    func closedForm(lambda: Double, at x: Double) -> Double {
        let n = xs.count
        var a = (0..<n).map { i in (0..<n).map { j in exp(-pow(Double(xs[i] - xs[j]), 2) / Double(sigma)) } }
        var b = ys.map(Double.init)
        for i in 0..<n { a[i][i] += Double(n) * lambda }
        for c in 0..<n {
            for r in (c + 1)..<n {
                let m = a[r][c] / a[c][c]
                for k in c..<n { a[r][k] -= m * a[c][k] }
                b[r] -= m * b[c]
            }
        }
        var v = [Double](repeating: 0, count: n)
        for r in stride(from: n - 1, through: 0, by: -1) {
            var s = b[r]
            for k in (r + 1)..<n { s -= a[r][k] * v[k] }
            v[r] = s / a[r][r]
        }
        return (0..<n).reduce(0) { $0 + v[$1] * exp(-pow(x - Double(xs[$1]), 2) / Double(sigma)) }
    }

    @Test(arguments: [0.0, 0.05, 1.0] as [Float])
    func matchesClosedForm(lambda: Float) throws {
        let arena = try ArenaAllocator(capacity: 1 << 20)
        let model = try KernelRidge.fit(try set(arena: arena), kernel: .gaussian(sigma: sigma), lambda: lambda, arena: arena)
        #expect(model.outputKind == .values && model.outputCount == 1)
        for x in [-0.5, 0, 0.9, 1.7, 2.6] as [Float] {
            let expected = closedForm(lambda: Double(lambda), at: Double(x))
            let got = outputs(model, [x])[0]
            #expect(abs(Double(got) - expected) < 2e-4, "λ \(lambda), x \(x): \(got) vs \(expected)")
            #expect(abs(evaluate(model.stages, input: [x])[0] - got) < 1e-5)
        }
        if lambda == 0 { // interpolation
            for (x, y) in zip(xs, ys) { #expect(abs(outputs(model, [x])[0] - y) < 1e-3) }
        }
    }

    /// Predictions shrink towards 0 as λ grows.
    @Test func largeLambdaShrinks() throws {
        let arena = try ArenaAllocator(capacity: 1 << 20)
        let data = try set(arena: arena)
        var previous = Float.infinity
        for lambda in [0.01, 0.1, 1, 10, 1e4] as [Float] {
            let model = try KernelRidge.fit(data, kernel: .gaussian(sigma: sigma), lambda: lambda, arena: arena)
            let size = xs.map { abs(outputs(model, [$0])[0]) }.max()!
            #expect(size < previous, "λ \(lambda)")
            previous = size
        }
        #expect(previous < 1e-3)
    }

    /// Duplicate samples make K singular: λ = 0 must fail clearly, λ > 0 must work.
    @Test func singularKernelMatrix() throws {
        let arena = try ArenaAllocator(capacity: 1 << 20)
        let data = try SampleSet(values: [1, 2, 1, 2, 3, 0], rows: 3, columns: 2, targets: [1, 1, 0], arena: arena)
        #expect(throws: KernelMachineError.notPositiveDefinite(order: 3, minor: 2)) {
            try KernelRidge.fit(data, kernel: .linear, lambda: 0, arena: arena)
        }
        #expect(throws: KernelMachineError.self) { try KernelRidge.fit(data, kernel: .linear, lambda: -1, arena: arena) }
        let model = try KernelRidge.fit(data, kernel: .gaussian(sigma: 1), lambda: 0.01, arena: arena)
        #expect(abs(outputs(model, [1, 2])[0] - 1) < 0.05)
    }
}
