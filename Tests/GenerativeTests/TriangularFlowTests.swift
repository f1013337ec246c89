import Testing
import Foundation
import Generative
import LowLevel
import MallocCounter

/// The toy density the triangular flow learns: x₁ from two Gaussians (±1.5, σ 0.5), and
/// x₂ | x₁ ~ N(x₁²/2, 0.4²), a bimodal banana whose first marginal no affine map of a Gaussian reaches.
enum BimodalBanana {
    static func logDensity(_ x: (Double, Double)) -> Double {
        func normal(_ v: Double, _ mean: Double, _ sd: Double) -> Double { exp(-0.5 * pow((v - mean) / sd, 2)) / (sd * (2 * Double.pi).squareRoot()) }
        return log(0.5 * normal(x.0, -1.5, 0.5) + 0.5 * normal(x.0, 1.5, 0.5)) + log(normal(x.1, x.0 * x.0 / 2, 0.4))
    }

    static func sample(_ random: inout RandomGenerator) -> (Double, Double) {
        let x1 = (random.nextUniform() < 0.5 ? -1.5 : 1.5) + 0.5 * Double(random.nextGaussian())
        return (x1, x1 * x1 / 2 + 0.4 * Double(random.nextGaussian()))
    }

    static func batch(_ count: Int, _ random: inout RandomGenerator) -> [Double] {
        (0..<count).flatMap { _ -> [Double] in let x = sample(&random); return [x.0, x.1] }
    }
}

/// The course's increasing triangular maps (`MonotoneMap`, `TriangularFlow`).
@Suite(.serialized) struct TriangularFlowTests {
    nonisolated(unsafe) static let trained: TriangularFlow = {
        let flow = TriangularFlow(terms: 6, hidden: 16, seed: 3)
        var random = RandomGenerator(seed: 21)
        for step in 0..<3000 {
            let points = BimodalBanana.batch(128, &random)
            points.withUnsafeBufferPointer { _ = flow.trainStep($0, learningRate: step < 2000 ? 0.02 : 0.004) }
        }
        return flow
    }()

    @Test func aMonotoneMapIsIncreasingWithTheGradientOfItsValueAndSlope() {
        var random = RandomGenerator(seed: 1)
        let terms = 3
        var theta = (0..<MonotoneMap.parameterCount(terms: terms)).map { _ in Double(random.nextGaussian()) }
        for x in [-2.5, -0.3, 0.0, 0.7, 3.1] {
            let here = theta.withUnsafeBufferPointer { MonotoneMap.evaluate(x, theta: $0.baseAddress!, terms: terms) }
            #expect(here.slope > 0)
            let h = 1e-6
            let up = theta.withUnsafeBufferPointer { MonotoneMap.evaluate(x + h, theta: $0.baseAddress!, terms: terms).value }
            let down = theta.withUnsafeBufferPointer { MonotoneMap.evaluate(x - h, theta: $0.baseAddress!, terms: terms).value }
            #expect(abs((up - down) / (2 * h) - here.slope) < 1e-6 * max(1, here.slope), "T′ is T's derivative at \(x)")
            // ∂(αT + βT′)/∂θ by central differences.
            let alpha = 0.7, beta = -1.3
            var analytic = [Double](repeating: 0, count: theta.count)
            theta.withUnsafeBufferPointer { t in
                analytic.withUnsafeMutableBufferPointer { MonotoneMap.addGradient(x, theta: t.baseAddress!, terms: terms, dValue: alpha, dSlope: beta, into: $0.baseAddress!) }
            }
            for i in theta.indices {
                let saved = theta[i]
                theta[i] = saved + h
                let a = theta.withUnsafeBufferPointer { MonotoneMap.evaluate(x, theta: $0.baseAddress!, terms: terms) }
                theta[i] = saved - h
                let b = theta.withUnsafeBufferPointer { MonotoneMap.evaluate(x, theta: $0.baseAddress!, terms: terms) }
                theta[i] = saved
                let numeric = (alpha * (a.value - b.value) + beta * (a.slope - b.slope)) / (2 * h)
                #expect(abs(numeric - analytic[i]) <= 1e-6 * max(1, abs(numeric)), "θ[\(i)] at x = \(x): \(numeric) against \(analytic[i])")
            }
        }
    }

    @Test func theLikelihoodsGradientMatchesFiniteDifferences() {
        let flow = TriangularFlow(terms: 3, hidden: 4, seed: 5)
        var random = RandomGenerator(seed: 6)
        let points = BimodalBanana.batch(16, &random)
        points.withUnsafeBufferPointer { p in
            _ = flow.negativeLogLikelihood(p)
            let analytic = flow.gradient, h = 1e-6
            for i in flow.parameters.indices {
                let saved = flow.parameters[i]
                flow.setParameter(i, saved + h)
                let up = flow.negativeLogLikelihood(p)
                flow.setParameter(i, saved - h)
                let down = flow.negativeLogLikelihood(p)
                flow.setParameter(i, saved)
                let numeric = (up - down) / (2 * h)
                #expect(abs(numeric - analytic[i]) <= 1e-5 * max(1, abs(numeric)), "parameter \(i): \(numeric) against \(analytic[i])")
            }
        }
    }

    /// T⁻¹ by bisection undoes T to 1e-5, both ways, for points the flow puts mass on and far out.
    @Test func theBisectionInverseUndoesTheMap() {
        let flow = Self.trained
        var random = RandomGenerator(seed: 7)
        var worst = 0.0
        for _ in 0..<500 {
            let x = BimodalBanana.sample(&random), back = flow.inverse(flow.forward(x).z)
            worst = max(worst, abs(back.0 - x.0), abs(back.1 - x.1))
        }
        for z in [(-6.0, 5.5), (4.0, -4.0), (0.0, 0.0)] {
            let x = flow.inverse(z), again = flow.forward(x).z
            worst = max(worst, abs(again.0 - z.0), abs(again.1 - z.1))
        }
        #expect(worst <= 1e-5, "largest error \(worst)")
    }

    /// The change of variables makes a density: it integrates to about 1 on a grid, trained or not.
    @Test(arguments: [false, true])
    func theDensityIntegratesToOne(_ trained: Bool) {
        let flow = trained ? Self.trained : TriangularFlow(terms: 6, hidden: 16, seed: 3)
        let step = 0.04
        var total = 0.0
        for i in 0..<350 {
            for j in 0..<400 {
                total += exp(flow.logDensity((-7 + (Double(i) + 0.5) * step, -6 + (Double(j) + 0.5) * step))) * step * step
            }
        }
        #expect(abs(total - 1) < 0.01, "∫p = \(total)")
    }

    /// Trained by maximum likelihood, the flow comes close to the banana: the estimated
    /// KL(p ‖ q) = E_p[log p − log q] is small beside the untrained flow's, and its samples (drawn
    /// through the inverse) have the banana's moments and both modes.
    @Test func itLearnsTheBimodalBanana() {
        let flow = Self.trained, untrained = TriangularFlow(terms: 6, hidden: 16, seed: 3)
        var random = RandomGenerator(seed: 8)
        var kl = 0.0, klUntrained = 0.0
        let n = 4000
        for _ in 0..<n {
            let x = BimodalBanana.sample(&random), p = BimodalBanana.logDensity(x)
            kl += p - flow.logDensity(x)
            klUntrained += p - untrained.logDensity(x)
        }
        kl /= Double(n)
        klUntrained /= Double(n)
        #expect(kl < 0.03 && klUntrained > 1, "KL(p‖q) ≈ \(kl) trained, \(klUntrained) untrained")
        var sampler = RandomGenerator(seed: 9)
        var left = 0, meanX2 = 0.0, meanAbsX1 = 0.0
        for _ in 0..<n {
            let x = flow.sample(&sampler)
            if x.0 < 0 { left += 1 }
            meanX2 += x.1 / Double(n)
            meanAbsX1 += abs(x.0) / Double(n)
        }
        // E|x₁| ≈ 1.5 and E x₂ = E x₁²/2 = (1.5² + 0.5²)/2 = 1.25.
        #expect(abs(Double(left) / Double(n) - 0.5) < 0.05 && abs(meanAbsX1 - 1.5) < 0.1 && abs(meanX2 - 1.25) < 0.1,
                "left share \(Double(left) / Double(n)), E|x₁| \(meanAbsX1), E x₂ \(meanX2)")
    }

    @Test func aTrainingStepAndASampleAllocateNothing() {
        let flow = TriangularFlow(terms: 4, hidden: 8, seed: 10)
        var random = RandomGenerator(seed: 11)
        let points = BimodalBanana.batch(32, &random)
        points.withUnsafeBufferPointer { p in
            flow.trainStep(p, learningRate: 0.01)
            malloc_counter_start()
            flow.trainStep(p, learningRate: 0.01)
            let x = flow.sample(&random)
            let calls = malloc_counter_stop()
            #expect(calls == 0 && x.0.isFinite, "\(calls) allocations")
        }
    }
}
