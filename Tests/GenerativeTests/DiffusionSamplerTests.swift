import Testing
import Foundation
import Generative
import LowLevel

/// The forward process's schedules and the two reverse samplers, driven by the exact noise
/// predictor of a Gaussian data distribution, where the answer is known.
@Suite struct DiffusionSamplerTests {
    @Test func schedulesFollowTheirFormulas() {
        let linear = DiffusionSchedule(.linear, steps: 1000)
        #expect(abs(linear.beta[0] - 1e-4) < 1e-12 && abs(linear.beta[999] - 0.02) < 1e-12)
        #expect(zip(linear.alphaBar, linear.alphaBar.dropFirst()).allSatisfy { $0 > $1 }, "ᾱ decreases")
        #expect(linear.alphaBar[1000] < 1e-4 && linear.alphaBar[1000] > 1e-5)
        let cosine = DiffusionSchedule(.cosine, steps: 200)
        func f(_ t: Double) -> Double { let c = cos((t / 200 + 0.008) / 1.008 * Double.pi / 2); return c * c }
        for t in [1, 50, 100, 150] { #expect(abs(cosine.alphaBar[t] - f(Double(t)) / f(0)) < 1e-12, "ᾱ_\(t)") }
        #expect(cosine.alphaBar[200] < 1e-6 && cosine.beta.allSatisfy { $0 > 0 && $0 <= 0.999 })
        // A shorter linear schedule keeps about the same total noise.
        let short = DiffusionSchedule(.linear, steps: 100)
        #expect(abs(log(short.alphaBar[100]) - log(linear.alphaBar[1000])) < 0.15 * abs(log(linear.alphaBar[1000])))
        #expect(DiffusionSampler.ode(steps: 10).times(linear) == Array(stride(from: 1000, through: 100, by: -100)))
        #expect(DiffusionSampler.ancestral.times(short) == Array((1...100).reversed()))
        #expect(DiffusionSampler.ode(steps: 5000).times(short).count == 100, "no more ODE steps than the schedule has")
    }

    /// Data x_0 ~ N(μ, s²): E[ε | x_t] = √(1 − ᾱ)·(x_t − √ᾱ·μ)/(ᾱ·s² + 1 − ᾱ). From x_T ~ N(0, 1),
    /// ancestral sampling must end at N(μ, s²). The probability-flow ODE transports each start to
    /// μ + s·z (the monotone map between the two Gaussians); the DDIM steps approach it at first
    /// order, the largest miss shrinking about in proportion to 1/K over K steps.
    @Test(arguments: [DiffusionSchedule.Kind.linear, .cosine])
    func bothSamplersRecoverAGaussian(_ kind: DiffusionSchedule.Kind) {
        let schedule = DiffusionSchedule(kind, steps: 1000), (mu, s) = (1.5, 0.5)
        let n = 20_000
        var random = RandomGenerator(seed: 3)
        let start = (0..<n).map { _ in random.nextGaussian() }
        func run(_ sampler: DiffusionSampler) -> (mean: Double, sd: Double, miss: Double) {
            var x = start, epsilon = [Float](repeating: 0, count: n)
            let times = sampler.times(schedule)
            for (i, t) in times.enumerated() {
                let a = schedule.alphaBar[t]
                for j in 0..<n { epsilon[j] = Float((1 - a).squareRoot() * (Double(x[j]) - a.squareRoot() * mu) / (a * s * s + 1 - a)) }
                x.withUnsafeMutableBufferPointer { buffer in
                    DiffusionSampler.step(sampler, schedule, x: buffer, epsilon: epsilon, clip: false, random: &random, from: t, to: i + 1 < times.count ? times[i + 1] : 0)
                }
            }
            let mean = x.reduce(0.0) { $0 + Double($1) } / Double(n)
            let sd = (x.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / Double(n)).squareRoot()
            return (mean, sd, zip(x, start).map { abs(Double($0) - (mu + s * Double($1))) }.max()!)
        }
        let ancestral = run(.ancestral)
        #expect(abs(ancestral.mean - mu) < 0.02 && abs(ancestral.sd - s) < 0.02, "\(kind) ancestral: mean \(ancestral.mean), sd \(ancestral.sd)")
        #expect(ancestral.miss > 1, "ancestral sampling is stochastic: it does not follow the ODE's map")
        let ode = [50, 100, 400].map { run(.ode(steps: $0)) }
        #expect(ode[1].miss < 0.6 * ode[0].miss && ode[2].miss < 0.4 * ode[1].miss, "\(kind): misses \(ode.map(\.miss)) for 50, 100, 400 steps")
        #expect(ode[2].miss < 0.025 && abs(ode[2].mean - mu) < 0.01 && abs(ode[2].sd - s) < 0.01, "\(kind) ODE, 400 steps: \(ode[2])")
    }

    /// An ε̂ off by a little at every step is amplified by 1/√ᾱ_T at the noisiest step of the
    /// cosine schedule: unclipped, the ODE sampler ends far outside the data's range [−1, 1];
    /// with x̂_0 clipped it stays near the data. With an exact ε̂ and data well inside the range
    /// the clip never acts and both give the same samples.
    @Test func clippingTheCleanImageKeepsAnImperfectPredictorInRange() {
        let schedule = DiffusionSchedule(.cosine, steps: 1000), (mu, s) = (0.2, 0.2)
        var random = RandomGenerator(seed: 8)
        let start = (0..<2000).map { _ in random.nextGaussian() }
        func run(clip: Bool, error: Double) -> [Float] {
            var x = start, epsilon = [Float](repeating: 0, count: start.count)
            let sampler = DiffusionSampler.ode(steps: 50), times = sampler.times(schedule)
            for (i, t) in times.enumerated() {
                let a = schedule.alphaBar[t]
                for j in x.indices { epsilon[j] = Float((1 - a).squareRoot() * (Double(x[j]) - a.squareRoot() * mu) / (a * s * s + 1 - a) + error) }
                x.withUnsafeMutableBufferPointer { buffer in
                    DiffusionSampler.step(sampler, schedule, x: buffer, epsilon: epsilon, clip: clip, random: &random, from: t, to: i + 1 < times.count ? times[i + 1] : 0)
                }
            }
            return x
        }
        let loose = run(clip: false, error: 0.02).map { abs($0) }.max()!, clipped = run(clip: true, error: 0.02).map { abs($0) }.max()!
        #expect(loose > 2 && clipped < 1.05, "largest |x_0|: \(loose) unclipped, \(clipped) clipped")
        let exact = zip(run(clip: false, error: 0), run(clip: true, error: 0)).map { abs($0 - $1) }.max()!
        #expect(exact < 1e-5, "with an exact predictor the clip changes samples by \(exact)")
    }
}
