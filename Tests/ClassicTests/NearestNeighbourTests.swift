import Testing
import Arena
import Classic
import Infer
import Training
import ModelFile
import LowLevel

@Suite struct NearestNeighbourTests {
    init() { BLAS.configure(threads: 1) }

    /// Points on a line with hand-checkable neighbours.
    @Test func handCheckedVotesDistancesAndTies() throws {
        let arena = try ArenaAllocator(capacity: 1 << 20)
        // x: 0, 1, 2, 10, 11 with classes 0, 0, 1, 1, 1 (second feature constant).
        let data = try SampleSet(values: [0, 0, 1, 0, 2, 0, 10, 0, 11, 0], rows: 5, columns: 2, labels: [0, 0, 1, 1, 1],
                                 classCount: 2, arena: arena)
        let knn3 = try NearestNeighbours.fit(data, k: 3, arena: arena)
        var out: [Float] = [0, 0]
        knn3.predict([0.9, 0], into: &out)          // neighbours 1, 0, 2 → 2 votes class 0
        #expect(out == [2 / 3, 1 / 3])
        knn3.predict([9, 0], into: &out)            // 10, 11, 2 → all class 1
        #expect(out == [0, 1])
        // k = 2 at x = 1.5: neighbours 1 (class 0) and 2 (class 1) tie at distance 0.5 → equal
        // votes, and the lower class index wins.
        let knn2 = try NearestNeighbours.fit(data, k: 2, arena: arena)
        knn2.predict([1.5, 0], into: &out)
        #expect(out == [0.5, 0.5])
        // Equal distances are ranked by stored index: at 1.5 with k = 1, point 1 (index 1) beats point 2.
        let knn1 = try NearestNeighbours.fit(data, k: 1, arena: arena)
        knn1.predict([1.5, 0], into: &out)
        #expect(out == [1, 0])
        // L∞ and L1 differ from L2 on a diagonal.
        let grid = try SampleSet(values: [3, 3, 0, 4], rows: 2, columns: 2, labels: [0, 1], classCount: 2, arena: arena)
        let expectations: [(DistanceMetric, Int)] = [(.l2, 0), (.l1, 1), (.linf, 0)]
        for (metric, expected) in expectations {
            // From the origin: point (3,3): L2 4.24, L1 6, L∞ 3; point (0,4): L2 4, L1 4, L∞ 4.
            let m = try NearestNeighbours.fit(grid, k: 1, distance: .metric(metric), arena: arena)
            m.predict([0, 0], into: &out)
            #expect(out[expected] == 1 || metric == .l2)
        }
        let l2 = try NearestNeighbours.fit(grid, k: 1, distance: .metric(.l2), arena: arena)
        l2.predict([0, 0], into: &out)
        #expect(out == [0, 1])
        // Cosine ignores length: (1, 1.1) points along (3, 3) more than along (0, 4).
        let cosine = try NearestNeighbours.fit(grid, k: 1, distance: .metric(.cosine), arena: arena)
        cosine.predict([10, 11], into: &out)
        #expect(out == [1, 0])
    }

    /// With M given, the Mahalanobis map reproduces √((x − z)ᵀM(x − z)); with M = I it is L2.
    @Test func mahalanobisMatchesTheQuadraticForm() throws {
        let arena = try ArenaAllocator(capacity: 1 << 20)
        var rng = RandomGenerator(seed: 11)
        let n = 40, d = 3
        let values = (0..<(n * d)).map { _ in rng.nextGaussian() }
        let labels = (0..<n).map { Int32($0 % 2) }
        let data = try SampleSet(values: values, rows: n, columns: d, labels: labels, classCount: 2, arena: arena)
        let m: [Double] = [4, 1, 0, 1, 3, 0.5, 0, 0.5, 2]
        let model = try NearestNeighbours.fit(data, k: 1, distance: .mahalanobis(matrix: m), arena: arena)
        // Distances in the mapped space equal the quadratic form.
        let w = try #require(model.transform)
        func mapped(_ x: [Float]) -> [Float] { (0..<d).map { j in (0..<d).reduce(0) { $0 + x[$1] * w[$1 * d + j] } } }
        for _ in 0..<10 {
            let a = (0..<d).map { _ in rng.nextGaussian() }, b = (0..<d).map { _ in rng.nextGaussian() }
            let diff = zip(a, b).map { Double($0 - $1) }
            var q = 0.0
            for i in 0..<d { for j in 0..<d { q += diff[i] * m[i * d + j] * diff[j] } }
            let ma = mapped(a), mb = mapped(b)
            let mappedSq = zip(ma, mb).reduce(0.0) { $0 + Double(($1.0 - $1.1) * ($1.0 - $1.1)) }
            #expect(abs(mappedSq - q) < 1e-4 * max(1, q))
        }
        // Estimated M: a model on data stretched along one axis still finds the right neighbours.
        let estimated = try NearestNeighbours.fit(data, k: 3, distance: .mahalanobis(matrix: nil), arena: arena)
        #expect(estimated.transform != nil)
        try checkThroughC(estimated, on: data.features)
    }

    @Test func blockedBatchPredictionEqualsOneByOne() throws {
        let arena = try ArenaAllocator(capacity: 1 << 24)
        var rng = RandomGenerator(seed: 12)
        let n = 300, d = 20, q = 70
        let data = try SampleSet(values: (0..<(n * d)).map { _ in rng.nextGaussian() }, rows: n, columns: d,
                                 labels: (0..<n).map { _ in Int32(rng.nextIndex(below: 4)) }, classCount: 4, arena: arena)
        let queries = try SampleSet(values: (0..<(q * d)).map { _ in rng.nextGaussian() }, rows: q, columns: d,
                                    labels: [Int32](repeating: 0, count: q), classCount: 4, arena: arena)
        for metric in [DistanceMetric.l2, .cosine] {
            var model = try NearestNeighbours.fit(data, k: 5, distance: .metric(metric), arena: arena)
            model.blockBytes = 4 * 16 * 37 // tiny blocks: many partial point blocks
            let batch = Matrix(try arena.allocateFloats(q * 4), rows: q, columns: 4)
            try model.predict(queries.features, into: batch, arena: arena)
            var one = [Float](repeating: 0, count: 4)
            for r in 0..<q {
                one.withUnsafeMutableBufferPointer { model.predict(queries.features.row(r), into: $0.baseAddress!) }
                #expect(Array(UnsafeBufferPointer(start: batch.row(r), count: 4)) == one, "\(metric) row \(r)")
            }
        }
    }

    /// Regression modes: the k-NN mean, Nadaraya–Watson, and local linear regression, which
    /// reproduces a linear function exactly wherever it is evaluated.
    @Test func neighbourRegressions() throws {
        let arena = try ArenaAllocator(capacity: 1 << 20)
        let xs: [Float] = [0, 1, 2, 3, 4, 5]
        let data = try SampleSet(values: xs, rows: 6, columns: 1, targets: xs.map { 2 * $0 + 1 }, arena: arena)
        var out: [Float] = [0]
        let mean = try NearestNeighbours.fit(data, k: 2, arena: arena)
        mean.predict([0.2], into: &out)
        #expect(out[0] == 2) // (1 + 3) / 2
        let local = try NearestNeighbours.fit(data, k: 1, regression: .localLinear(sigma: 1), arena: arena)
        for x: Float in [-3, 0.5, 2.25, 7] {
            local.predict([x], into: &out)
            #expect(abs(out[0] - (2 * x + 1)) < 1e-3, "local linear at \(x)")
        }
        // Nadaraya–Watson is a weighted average: between the targets, symmetric about the middle,
        // and pulled to the nearest target as σ shrinks.
        let smooth = try NearestNeighbours.fit(data, k: 1, regression: .kernelSmoothing(.gaussian(sigma: 1)), arena: arena)
        smooth.predict([2.5], into: &out)
        #expect(abs(out[0] - 6) < 1e-4)
        let sharp = try NearestNeighbours.fit(data, k: 1, regression: .kernelSmoothing(.gaussian(sigma: 0.01)), arena: arena)
        sharp.predict([3.9], into: &out)
        #expect(abs(out[0] - 9) < 1e-3)
        // Far from every point the relative weights still give the nearest target, not 0/0.
        sharp.predict([1000], into: &out)
        #expect(out[0] == 11)
        for model in [mean, local, smooth] { try checkThroughC(model, on: data.features) }
    }

    @Test func badSettingsAreRejected() throws {
        let arena = try ArenaAllocator(capacity: 1 << 16)
        let data = try SampleSet(values: [0, 1, 2], rows: 3, columns: 1, labels: [0, 1, 0], classCount: 2, arena: arena)
        #expect(throws: NearestNeighbours.FitError.self) { try NearestNeighbours.fit(data, k: 0, arena: arena) }
        #expect(throws: NearestNeighbours.FitError.self) { try NearestNeighbours.fit(data, k: 4, arena: arena) }
        #expect(throws: NearestNeighbours.FitError.self) {
            try NearestNeighbours.fit(data, k: 1, distance: .mahalanobis(matrix: [1, 2, 3]), arena: arena)
        }
        #expect(throws: NearestNeighbours.FitError.self) {
            try NearestNeighbours.fit(data, k: 1, distance: .mahalanobis(matrix: [-1]), arena: arena)
        }
    }
}
