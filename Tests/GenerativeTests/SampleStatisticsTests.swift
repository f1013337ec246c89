import Testing
import Generative
import LowLevel

@Suite struct SampleStatisticsTests {
    /// Confident predictions spread evenly over K classes score K; identical predictions score 1.
    @Test func inceptionScoreBounds() {
        var spread = SampleStatistics(dimension: 1, classes: 4), same = spread
        let feature: [Float] = [0]
        for i in 0..<400 {
            var p = [Float](repeating: 0, count: 4)
            p[i % 4] = 1
            spread.add(features: feature, probabilities: p)
            same.add(features: feature, probabilities: [0.25, 0.25, 0.25, 0.25])
        }
        #expect(abs(spread.inceptionScore - 4) < 1e-9)
        #expect(abs(same.inceptionScore - 1) < 1e-9)
        #expect(spread.predictedCounts == [100, 100, 100, 100])
        #expect(same.predictedCounts == [400, 0, 0, 0], "ties go to the first class")
        var leaning = SampleStatistics(dimension: 1, classes: 3)
        leaning.add(features: feature, probabilities: [0.2, 0.3, 0.5])
        leaning.add(features: feature, probabilities: [0.1, 0.6, 0.3])
        #expect(leaning.predictedCounts == [0, 1, 1])
    }

    /// The Fréchet distance of a set to itself is 0; shifting every feature by s adds ‖s‖²; for
    /// diagonal covariances it is Σ (σ₁ − σ₂)² beyond the means.
    @Test func frechetDistanceOfKnownGaussians() throws {
        var random = RandomGenerator(seed: 11)
        var a = SampleStatistics(dimension: 3, classes: 1), shifted = a, scaled = a
        for _ in 0..<5000 {
            let x = (0..<3).map { _ in random.nextGaussian() }
            a.add(features: x, probabilities: [1])
            shifted.add(features: zip(x, [1, -2, 0.5]).map { $0 + $1 }, probabilities: [1])
            scaled.add(features: x.map { 3 * $0 }, probabilities: [1])
        }
        let selfDistance = try #require(SampleStatistics.frechetDistance(a, a))
        #expect(abs(selfDistance) < 1e-6)
        let shift = try #require(SampleStatistics.frechetDistance(a, shifted))
        #expect(abs(shift - 5.25) < 1e-6, "\(shift)")
        // Σ₂ = 9Σ₁: Tr Σ₁ + 9 Tr Σ₁ − 2·3 Tr Σ₁ = 4 Tr Σ₁.
        let trace = a.covariance[0] + a.covariance[4] + a.covariance[8]
        let scale = try #require(SampleStatistics.frechetDistance(a, scaled))
        let meanPart = a.mean.reduce(0) { $0 + 4 * $1 * $1 }
        #expect(abs(scale - (4 * trace + meanPart)) < 1e-6 * max(1, scale), "\(scale) vs \(4 * trace + meanPart)")
    }
}
