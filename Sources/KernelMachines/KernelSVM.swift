import Arena
import Classic
import Infer
import Training
import ModelFile
import LowLevel

/// A kernel support vector machine (C-SVC) trained by SMO, one-vs-one for more than two classes.
///
/// Every class pair (a, b), in `ClassPairs.all` order, gets its own binary SVM on the samples of
/// those two classes (a = +1). The exported model keeps only support vectors (α > 0), shared by all
/// pairs: the union of their training samples is stored once, and pair p has a coefficient column
/// holding yᵢαᵢ for its own support vectors and 0 for the others. So the stages are
///
///     .kernel(k, points: support vectors)  →  .dense(coefficients [nSV, P], biases [P])
///     →  .pairwiseVote(classes: K)
///
/// and the outputs are vote scores (`outputKind` `.scores`), largest = predicted class; two classes
/// are the case K = 2 with one pair.
///
/// All buffers live in the arena given to `fit`. `predict(_:into:)` uses scratch owned by the
/// model, so one model must not predict on two threads at once.
public struct KernelSVM: TrainedModel {
    /// What one binary sub-problem did.
    public struct PairReport: Sendable {
        public let positiveClass: Int, negativeClass: Int
        public let samples: Int
        public let iterations: Int
        public let supportVectors: Int
        /// Support vectors with α = C (margin errors and points on the wrong side).
        public let boundedSupportVectors: Int
        public let converged: Bool
        public let gap: Double
        public let bias: Float
    }

    /// What fitting did, for logs and tests.
    public struct FitReport: Sendable {
        public let kernel: KernelFunction
        public let C: Float
        public let pairs: [PairReport]
        /// Distinct training samples kept (the union over pairs).
        public let supportVectors: Int
        /// Wall-clock seconds of `fit`.
        public let seconds: Double
        public let cacheHits: Int, cacheMisses: Int
        public var iterations: Int { pairs.reduce(0) { $0 + $1.iterations } }
        public var converged: Bool { pairs.allSatisfy(\.converged) }
    }

    public let kernel: KernelFunction
    public let classCount: Int
    /// The support vectors, nSV × d.
    public let supportVectors: Matrix
    /// Row of each support vector in the training set.
    public let supportVectorIndices: UnsafeMutableBufferPointer<Int32>
    /// nSV × P: yᵢαᵢ of pair p in column p, 0 where sample i is not a support vector of pair p.
    public let coefficients: Matrix
    /// b of each pair's decision function f_p(x) = Σᵢ coefficients[i, p]·k(xᵢ, x) + b_p.
    public let biases: [Float]
    public let report: FitReport
    /// The decision functions: support vectors, coefficients, biases.
    public let expansion: KernelExpansion
    private let decisionScratch: UnsafeMutableBufferPointer<Float>

    public var inputCount: Int { supportVectors.columns }
    public var outputCount: Int { classCount }
    public var outputKind: ModelFormat.OutputKind { .scores }
    public var pairCount: Int { biases.count }

    /// Trains on `set` (a classification set with at least two classes).
    /// - Parameters:
    ///   - kernel: σ = nil for the Gaussian or Laplace kernel picks it from the data (`KernelSpec`).
    ///   - C: the box constraint; a large C (say 1e6) is the hard margin.
    ///   - tolerance: SMO's stopping gap (libsvm's ε).
    ///   - cacheBytes: the kernel-row cache budget per pair; when a pair's whole kernel matrix fits
    ///     it is computed at once (fastest).
    ///   - maxIterations: per pair; nil means SMO's default. A pair that hits it is reported with
    ///     `converged == false` and keeps the α it reached.
    /// - Throws: `KernelMachineError` for bad parameters or a full arena. The arena keeps the
    ///   model: an n × P coefficient block (of which the first nSV rows are used), the support
    ///   vectors and small scratch; per-pair buffers are released as each pair finishes.
    /// The arena bytes `fit` can take, planned before the support vectors are known: exact for
    /// the training phase (coefficients, then per pair its copy, the kernel cache and SMO's
    /// vectors), and for what is kept it assumes every sample becomes a support vector, so the
    /// real peak can be lower (by the rows that are not support vectors).
    public static func arenaBytes(for set: SampleSet, cacheBytes: Int = 256 << 20) -> FitArenaBytes {
        let n = set.count, d = set.featureCount
        let pairs = ClassPairs.all(classes: set.classCount), p = pairs.count
        let coefficients = ArenaAllocator.footprint(of: Float.self, count: n * p)
        let training = pairs.map { pair -> Int in
            let m = set.pairCount(pair.0, pair.1)
            return set.pairArenaBytes(pair.0, pair.1) + ArenaAllocator.footprint(of: Int32.self, count: m)
                + KernelRowCache.footprint(rows: m, slots: KernelRowCache.slotCapacity(rows: m, budget: cacheBytes))
                + 2 * ArenaAllocator.footprint(of: Double.self, count: m)
        }.max() ?? 0
        let kept = coefficients + keptArenaBytes(supportVectors: n, features: d, pairs: p)
        return FitArenaBytes(peak: max(coefficients + training, kept), kept: kept)
    }

    /// What a fit keeps beyond the n × P coefficients, for `supportVectors` support vectors.
    static func keptArenaBytes(supportVectors s: Int, features d: Int, pairs p: Int) -> Int {
        ArenaAllocator.footprint(of: Int32.self, count: s) + ArenaAllocator.footprint(of: Float.self, count: s * d)
            + KernelExpansion.arenaBytes(points: s) + ArenaAllocator.footprint(of: Float.self, count: p)
    }

    /// Arena bytes batch prediction of `rows` rows takes with `supportVectors` and `pairs` (released).
    public static func predictionArenaBytes(rows: Int, supportVectors: Int, pairs: Int) -> Int {
        ArenaAllocator.footprint(of: Float.self, count: rows * pairs) + KernelExpansion.evaluationArenaBytes(rows: rows, points: supportVectors)
    }

    public func predictionArenaBytes(rows: Int) -> Int {
        Self.predictionArenaBytes(rows: rows, supportVectors: expansion.points.rows, pairs: pairCount)
    }

    public static func fit(_ set: SampleSet, kernel spec: KernelSpec = .gaussian(), C: Float = 1,
                           tolerance: Double = 1e-3, cacheBytes: Int = 256 << 20, maxIterations: Int? = nil,
                           arena: ArenaAllocator) throws(KernelMachineError) -> KernelSVM {
        let start = MonotonicClock.now()
        guard set.isClassification, set.count > 0, set.featureCount > 0 else {
            throw .invalidParameter("an SVM needs a non-empty classification set")
        }
        guard C > 0, C.isFinite else { throw .invalidParameter("C must be positive and finite, not \(C)") }
        let kernel = try spec.resolved(for: set.features)
        let n = set.count, d = set.featureCount, k = set.classCount
        let pairs = ClassPairs.all(classes: k), p = pairs.count

        // Dense n × P coefficients while training; compacted in place to the support-vector rows.
        let coefficients: UnsafeMutableBufferPointer<Float>
        do { coefficients = try arena.allocateFloats(n * p) } catch { throw .arena(error) }
        var biases = [Float](repeating: 0, count: p)
        var reports: [PairReport] = []
        var hits = 0, misses = 0

        for (column, (a, b)) in pairs.enumerated() {
            let mark = arena.mark()
            defer { arena.reset(to: mark) }
            let (x, y): (Matrix, UnsafeMutableBufferPointer<Float>)
            let origin: UnsafeMutableBufferPointer<Int32>
            do {
                (x, y) = try set.pair(a, b, arena: arena)
                origin = try arena.allocate(Int32.self, count: x.rows)
            } catch { throw .arena(error) }
            var r = 0, positives = 0
            for i in 0..<n where Int(set.labels[i]) == a || Int(set.labels[i]) == b {
                origin[r] = Int32(i)
                if Int(set.labels[i]) == a { positives += 1 }
                r += 1
            }
            if positives == 0 || positives == x.rows {
                // A class without samples: the pair always votes for the one present (if any).
                biases[column] = positives > 0 ? 1 : (x.rows > 0 ? -1 : 0)
                reports.append(PairReport(positiveClass: a, negativeClass: b, samples: x.rows, iterations: 0,
                                          supportVectors: 0, boundedSupportVectors: 0, converged: true,
                                          gap: 0, bias: biases[column]))
                continue
            }
            let cache = try KernelRowCache(points: x, kernel: kernel, byteBudget: cacheBytes, arena: arena)
            let result = try SMOSolver.solve(labels: y.baseAddress!, cache: cache, C: Double(C),
                                             tolerance: tolerance, maxIterations: maxIterations, arena: arena)
            hits += cache.hits; misses += cache.misses
            var svs = 0, bounded = 0
            for t in 0..<x.rows where result.alpha[t] > 0 {
                coefficients[Int(origin[t]) * p + column] = y[t] * Float(result.alpha[t])
                svs += 1
                if result.alpha[t] >= Double(C) { bounded += 1 }
            }
            biases[column] = Float(result.bias)
            reports.append(PairReport(positiveClass: a, negativeClass: b, samples: x.rows,
                                      iterations: result.iterations, supportVectors: svs,
                                      boundedSupportVectors: bounded, converged: result.converged,
                                      gap: result.gap, bias: biases[column]))
        }

        // The union of support vectors: rows with a nonzero coefficient. (With none at all, which
        // only happens when no pair had both classes, sample 0 is kept with zero coefficients so
        // the stages stay well-formed.)
        func used(_ i: Int) -> Bool {
            for c in 0..<p where coefficients[i * p + c] != 0 { return true }
            return false
        }
        var count = 0
        for i in 0..<n where used(i) { count += 1 }
        let keepFirst = count == 0
        if keepFirst { count = 1 }
        let indices: UnsafeMutableBufferPointer<Int32>
        let points: UnsafeMutableBufferPointer<Float>
        do {
            indices = try arena.allocate(Int32.self, count: count)
            points = try arena.allocate(Float.self, count: count * d)
        } catch { throw .arena(error) }
        var s = 0
        for i in 0..<n where keepFirst ? i == 0 : used(i) {
            // In place: s ≤ i, so row s is written after row i's earlier rows were read.
            if s != i { (coefficients.baseAddress! + s * p).update(from: coefficients.baseAddress! + i * p, count: p) }
            indices[s] = Int32(i)
            (points.baseAddress! + s * d).update(from: set.features.row(i), count: d)
            s += 1
        }
        let supportVectors = Matrix(points, rows: count, columns: d)
        let coefficientMatrix = Matrix(base: coefficients.baseAddress!, rows: count, columns: p)
        let expansion: KernelExpansion
        let decisionScratch: UnsafeMutableBufferPointer<Float>
        do {
            expansion = try KernelExpansion(kernel: kernel, points: supportVectors, coefficients: coefficientMatrix,
                                            bias: biases, arena: arena)
            decisionScratch = try arena.allocate(Float.self, count: p)
        } catch { throw .arena(error) }
        let report = FitReport(kernel: kernel, C: C, pairs: reports, supportVectors: keepFirst ? 0 : count,
                               seconds: MonotonicClock.seconds(since: start), cacheHits: hits, cacheMisses: misses)
        return KernelSVM(kernel: kernel, classCount: k, supportVectors: supportVectors, supportVectorIndices: indices,
                         coefficients: coefficientMatrix, biases: biases, report: report,
                         expansion: expansion, decisionScratch: decisionScratch)
    }

    /// The P pair decision values f_p(x) for one input.
    public func decisionValues(_ input: UnsafePointer<Float>, into decisions: UnsafeMutablePointer<Float>) {
        expansion.evaluate(input, into: decisions)
    }

    public func predict(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        decisionValues(input, into: decisionScratch.baseAddress!)
        PairwiseVote.apply(decisionScratch.baseAddress!, classes: classCount, into: output)
    }

    /// Batch prediction: decision values by `KernelExpansion` (two matrix products per 256 rows),
    /// then the vote.
    public func predict(_ x: Matrix, into output: Matrix, arena: ArenaAllocator) throws(ArenaError) {
        precondition(x.columns == inputCount && output.columns == outputCount && output.rows >= x.rows)
        let mark = arena.mark()
        defer { arena.reset(to: mark) }
        let decisions = Matrix(try arena.allocate(Float.self, count: x.rows * pairCount), rows: x.rows, columns: pairCount)
        try expansion.evaluate(x, into: decisions, arena: arena)
        for r in 0..<x.rows { PairwiseVote.apply(decisions.row(r), classes: classCount, into: output.row(r)) }
    }

    public var stages: [ModelStage] { expansion.stages + [.pairwiseVote(classes: classCount)] }
}
