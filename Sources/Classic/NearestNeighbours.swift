import Arena
import Infer
import Training
import ModelFile
import LowLevel

/// k-nearest neighbours and the neighbour-based regressions: classification (vote fractions of
/// the k nearest), regression (their mean), Nadaraya–Watson kernel smoothing and local linear
/// regression over all stored points. "Fitting" stores the training set (in the arena), which the
/// exported model file holds too.
///
/// Distances: L1, L2, L∞, cosine (1 − cos), and Mahalanobis √((x − z)ᵀM(x − z)) with M given or
/// estimated as the inverse of the training covariance. Mahalanobis is computed as L2 after the
/// map x ↦ Rᵀx where M = RRᵀ (Cholesky), applied once to the stored points and to each query.
///
/// Ranking and ties are `NeighbourSearch`'s: by distance, then by stored index; a vote tie goes to
/// the lowest class index. Batch prediction with L2 or cosine computes distances as
/// ‖x‖² + ‖z‖² − 2⟨x, z⟩ with one matrix product per block of queries and points, sized to
/// `blockBytes`; single-query prediction (and the C runtime) subtracts coordinates directly, so
/// the two can differ only for points whose distances agree to within rounding.
public struct NearestNeighbours: TrainedModel {
    public enum Distance: Equatable, Sendable {
        case metric(DistanceMetric)
        /// M, d × d row-major, symmetric positive definite; nil: the inverse of the training
        /// covariance (with 1e-6 of its mean variance added to the diagonal, so constant
        /// features do not make it singular).
        case mahalanobis(matrix: [Double]?)
    }

    public let points: Matrix
    public let targets: UnsafeMutableBufferPointer<Float>
    public let k: Int
    public let metric: DistanceMetric
    public let mode: NeighbourMode
    /// The Mahalanobis map as a dense weight [d, d] (x ↦ x·W), or nil.
    public let transform: [Float]?
    /// Bytes of distance block in batch prediction.
    public var blockBytes = 64 << 20

    public var inputCount: Int { points.columns }
    public var outputCount: Int { if case .classify(let c) = mode { c } else { 1 } }
    public var outputKind: ModelFormat.OutputKind { if case .classify = mode { .scores } else { .values } }

    public struct FitError: Error, CustomStringConvertible { public let description: String }

    /// The arena bytes `fit` takes: the stored points and targets, kept with the model.
    public static func arenaBytes(for set: SampleSet) -> FitArenaBytes {
        let bytes = ArenaAllocator.footprint(of: Float.self, count: set.count * set.featureCount)
            + ArenaAllocator.footprint(of: Float.self, count: set.count)
        return FitArenaBytes(peak: bytes, kept: bytes)
    }

    /// Whether batch prediction uses the blocked matrix-product search: L2 or cosine k-NN
    /// without a Mahalanobis map.
    public static func searchesInBlocks(_ mode: NeighbourMode, _ metric: DistanceMetric, mapped: Bool) -> Bool {
        switch mode { case .classify, .regress: (metric == .l2 || metric == .cosine) && !mapped; default: false }
    }
    private var searchesInBlocks: Bool { Self.searchesInBlocks(mode, metric, mapped: transform != nil) }

    /// Arena bytes batch prediction of `rows` rows takes over `n` stored points (released).
    public static func predictionArenaBytes(rows: Int, points n: Int, k: Int, blocked: Bool, blockBytes: Int = 64 << 20) -> Int {
        guard blocked, rows > 0 else { return 0 }
        let queryBlock = min(rows, 512), pointBlock = max(1, min(n, blockBytes / 4 / max(queryBlock, 1)))
        return ArenaAllocator.footprint(of: Float.self, count: queryBlock * pointBlock) + ArenaAllocator.footprint(of: Float.self, count: n)
            + ArenaAllocator.footprint(of: Float.self, count: queryBlock * k) + ArenaAllocator.footprint(of: Int32.self, count: queryBlock * k)
            + ArenaAllocator.footprint(of: Int.self, count: queryBlock)
    }

    public func predictionArenaBytes(rows: Int) -> Int {
        Self.predictionArenaBytes(rows: rows, points: points.rows, k: k, blocked: searchesInBlocks, blockBytes: blockBytes)
    }

    /// Stores `set` (copied into `arena`). Classification sets give `.classify`; regression sets
    /// use `regression` (default: mean of the k nearest).
    public static func fit(_ set: SampleSet, k: Int, distance: Distance = .metric(.l2), regression: NeighbourMode = .regress,
                           arena: ArenaAllocator) throws -> NearestNeighbours {
        let (n, d) = (set.count, set.featureCount)
        guard n > 0 else { throw FitError(description: "no training samples") }
        let mode: NeighbourMode = set.isClassification ? .classify(classes: set.classCount) : regression
        if case .classify = mode, !(1...min(n, ModelFormat.maxNeighbours)).contains(k) {
            throw FitError(description: "k must be between 1 and \(min(n, ModelFormat.maxNeighbours)), not \(k)")
        }
        if case .regress = mode, !(1...min(n, ModelFormat.maxNeighbours)).contains(k) {
            throw FitError(description: "k must be between 1 and \(min(n, ModelFormat.maxNeighbours)), not \(k)")
        }
        if case .localLinear = mode, d > ModelFormat.maxLocalLinearDimension {
            throw FitError(description: "local linear regression takes at most \(ModelFormat.maxLocalLinearDimension) features, not \(d)")
        }
        let stored = try arena.allocate(Float.self, count: n * d)
        stored.baseAddress!.update(from: set.features.base, count: n * d)
        let targets = try arena.allocate(Float.self, count: n)
        for i in 0..<n { targets[i] = set.isClassification ? Float(set.labels[i]) : set.targets[i] }
        var metric = DistanceMetric.l2, transform: [Float]? = nil
        switch distance {
        case .metric(let m): metric = m
        case .mahalanobis(let given):
            let w = try mahalanobisMap(given, set: set)
            transform = w
            // Stored points move to the mapped space once.
            let row = [Float](repeating: 0, count: d)
            var mapped = row
            for i in 0..<n {
                apply(w, stored.baseAddress! + i * d, dimension: d, into: &mapped)
                (stored.baseAddress! + i * d).update(from: mapped, count: d)
            }
        }
        return NearestNeighbours(points: Matrix(stored, rows: n, columns: d), targets: targets, k: k, metric: metric,
                                 mode: mode, transform: transform)
    }

    /// W [d, d] with x·W = Rᵀx where M = RRᵀ.
    static func mahalanobisMap(_ given: [Double]?, set: SampleSet) throws -> [Float] {
        let (n, d) = (set.count, set.featureCount)
        var m: [Double]
        if let given {
            guard given.count == d * d, given.allSatisfy(\.isFinite) else { throw FitError(description: "the Mahalanobis matrix must be \(d) × \(d) and finite") }
            m = given
        } else {
            guard n > 1 else { throw FitError(description: "estimating a covariance needs at least two samples") }
            var mean = [Double](repeating: 0, count: d)
            for i in 0..<n { for c in 0..<d { mean[c] += Double(set.features[i, c]) } }
            for c in 0..<d { mean[c] /= Double(n) }
            var cov = [Double](repeating: 0, count: d * d), centred = [Double](repeating: 0, count: d)
            for i in 0..<n {
                for c in 0..<d { centred[c] = Double(set.features[i, c]) - mean[c] }
                for a in 0..<d where centred[a] != 0 { for b in 0...a { cov[a * d + b] += centred[a] * centred[b] } }
            }
            var trace = 0.0
            for a in 0..<d { for b in 0...a { cov[a * d + b] /= Double(n - 1); cov[b * d + a] = cov[a * d + b] }; trace += cov[a * d + a] }
            let ridge = 1e-6 * max(trace / Double(d), 1e-12)
            for a in 0..<d { cov[a * d + a] += ridge }
            // M = Σ⁻¹: solve Σ·M = I.
            m = [Double](repeating: 0, count: d * d)
            for a in 0..<d { m[a * d + a] = 1 }
            let ok = cov.withUnsafeMutableBufferPointer { c in m.withUnsafeMutableBufferPointer { LAPACK.solvePositiveDefinite(c.baseAddress!, n: d, $0.baseAddress!, nrhs: d) } }
            guard ok else { throw FitError(description: "the training covariance is not positive definite") }
            for a in 0..<d { for b in 0..<a { let s = (m[a * d + b] + m[b * d + a]) / 2; m[a * d + b] = s; m[b * d + a] = s } }
        }
        // M = RRᵀ with R lower triangular; x·W = Rᵀx means W = R.
        guard m.withUnsafeMutableBufferPointer({ LAPACK.cholesky($0.baseAddress!, n: d) }) else {
            throw FitError(description: "the Mahalanobis matrix is not positive definite")
        }
        let w = m.map { Float($0) }
        return w
    }

    static func apply(_ w: [Float], _ x: UnsafePointer<Float>, dimension d: Int, into out: inout [Float]) {
        for j in 0..<d { out[j] = 0 }
        for i in 0..<d where x[i] != 0 { for j in 0..<d { out[j] += x[i] * w[i * d + j] } }
    }

    public func predict(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        let d = inputCount
        if let transform {
            var mapped = [Float](repeating: 0, count: d)
            Self.apply(transform, input, dimension: d, into: &mapped)
            mapped.withUnsafeBufferPointer { predictMapped($0.baseAddress!, into: output) }
        } else {
            predictMapped(input, into: output)
        }
    }

    private func predictMapped(_ x: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        let (n, d) = (points.rows, points.columns)
        switch mode {
        case .classify, .regress:
            withUnsafeTemporaryAllocation(of: Float.self, capacity: k) { distances in
                withUnsafeTemporaryAllocation(of: Int32.self, capacity: k) { indices in
                    let found = NeighbourSearch.nearest(x, points: points.base, count: n, dimension: d, k: k, metric: metric,
                                                        distances: distances.baseAddress!, indices: indices.baseAddress!)
                    finish(indices.baseAddress!, found: found, into: output)
                }
            }
        case .kernelSmoothing(let kernel):
            output[0] = NeighbourSearch.kernelSmoothing(x, points: points.base, targets: targets.baseAddress!, count: n, dimension: d, kernel: kernel)
        case .localLinear(let sigma):
            withUnsafeTemporaryAllocation(of: Double.self, capacity: NeighbourSearch.localLinearScratch(dimension: d)) { scratch in
                output[0] = NeighbourSearch.localLinear(x, points: points.base, targets: targets.baseAddress!, count: n, dimension: d,
                                                        sigma: sigma, scratch: scratch.baseAddress!)
            }
        }
    }

    private func finish(_ indices: UnsafePointer<Int32>, found: Int, into output: UnsafeMutablePointer<Float>) {
        if case .classify(let classes) = mode {
            NeighbourSearch.vote(indices, found: found, labels: targets.baseAddress!, classes: classes, into: output)
        } else {
            output[0] = NeighbourSearch.mean(indices, found: found, targets: targets.baseAddress!)
        }
    }

    /// Batch prediction. L2 and cosine k-NN (without a Mahalanobis map) use blocked matrix
    /// products; everything else runs query by query.
    public func predict(_ x: Matrix, into output: Matrix, arena: ArenaAllocator) throws(ArenaError) {
        precondition(x.columns == inputCount && output.columns == outputCount && output.rows >= x.rows)
        guard searchesInBlocks else {
            for r in 0..<x.rows { predict(x.row(r), into: output.row(r)) }
            return
        }
        let (n, d) = (points.rows, points.columns)
        let mark = arena.mark()
        defer { arena.reset(to: mark) }
        // Block shape: up to 512 queries against as many points as fit the byte budget.
        let queryBlock = min(x.rows, 512)
        let pointBlock = max(1, min(n, blockBytes / 4 / max(queryBlock, 1)))
        let block = try arena.allocate(Float.self, count: queryBlock * pointBlock)
        let pointNorms = try arena.allocate(Float.self, count: n)
        for i in 0..<n { pointNorms[i] = Kernels.sumOfSquares(points.row(i), count: d) }
        if metric == .cosine { for i in 0..<n { pointNorms[i] = pointNorms[i].squareRoot() } }
        let bestDistances = try arena.allocate(Float.self, count: queryBlock * k)
        let bestIndices = try arena.allocate(Int32.self, count: queryBlock * k)
        let found = try arena.allocate(Int.self, count: queryBlock)
        var q0 = 0
        while q0 < x.rows {
            let qn = min(queryBlock, x.rows - q0)
            for q in 0..<qn { found[q] = 0 }
            var p0 = 0
            while p0 < n {
                let pn = min(pointBlock, n - p0)
                // block = −2·Q·Pᵀ (L2) or Q·Pᵀ (cosine)
                Kernels.gemm(.none, .transposed, m: qn, n: pn, k: d, alpha: metric == .l2 ? -2 : 1, a: x.row(q0), lda: d,
                             b: points.row(p0), ldb: d, beta: 0, c: block.baseAddress!, ldc: pn)
                for q in 0..<qn {
                    let row = block.baseAddress! + q * pn
                    let dist = bestDistances.baseAddress! + q * k, idx = bestIndices.baseAddress! + q * k
                    var f = found[q]
                    if metric == .l2 {
                        let qq = Kernels.sumOfSquares(x.row(q0 + q), count: d)
                        for j in 0..<pn {
                            let v = max(row[j] + pointNorms[p0 + j] + qq, 0)
                            if f < k || v <= dist[k - 1] { NeighbourSearch.offer(v, index: Int32(p0 + j), k: k, found: &f, distances: dist, indices: idx) }
                        }
                    } else {
                        let qn2 = Kernels.sumOfSquares(x.row(q0 + q), count: d).squareRoot()
                        for j in 0..<pn {
                            let norm = pointNorms[p0 + j]
                            let v: Float = qn2 > 0 && norm > 0 ? 1 - row[j] / (qn2 * norm) : 1
                            if f < k || v <= dist[k - 1] { NeighbourSearch.offer(v, index: Int32(p0 + j), k: k, found: &f, distances: dist, indices: idx) }
                        }
                    }
                    found[q] = f
                }
                p0 += pn
            }
            for q in 0..<qn { finish(bestIndices.baseAddress! + q * k, found: found[q], into: output.row(q0 + q)) }
            q0 += qn
        }
    }

    public var stages: [ModelStage] {
        let (n, d) = (points.rows, points.columns)
        var s: [ModelStage] = []
        if let transform { s.append(.dense(weight: transform, bias: [Float](repeating: 0, count: d), inputs: d, outputs: d)) }
        s.append(.nearestNeighbours(points: Array(points.buffer), targets: Array(targets), count: n, dimension: d, k: k,
                                    metric: metric, mode: mode))
        return s
    }
}
