import Arena
import Infer
import Training
import ModelFile
import LowLevel

/// Rosenblatt's perceptron. Binary core: on a mistake, y(⟨x, w⟩ + b) ≤ 0, it sets w += y·x and
/// b += y. Samples are visited in order (the algorithm is deterministic). Training stops at the
/// first of: a full pass without a mistake (converged), `maxPasses` passes, or the stopping rule:
/// by default (`.loss`) when the pass's perceptron loss Σ max(0, −y(⟨x, w⟩ + b)), summed over
/// the visits as they happen, has not fallen below the best pass's by `tolerance`·n for
/// `patience` passes (scikit-learn's `tol` and `n_iter_no_change`); with `.error`, when the
/// training error of the weights after each pass has not changed for `patience` passes; with
/// `.none`, only convergence or `maxPasses` stop it (the course's algorithm as stated).
public struct Perceptron: TrainedModel {
    /// What ends training before `maxPasses` when the data are not separable.
    public enum StopRule: String, Sendable, CaseIterable { case loss, error, none }

    public struct Settings: Sendable {
        public var maxPasses = 1000
        public var stopRule = StopRule.loss
        /// Passes without improvement before stopping; nil means the rule's default (5 for
        /// `.loss`, as scikit-learn; 50 for `.error`).
        public var patience: Int? = nil
        /// `.loss`: the least improvement that counts, per sample (scikit-learn's default 1e-3).
        public var tolerance: Float = 1e-3
        public var multiclass = MulticlassStrategy.oneVsAll
        /// Return the average of the weights over every sample visit (the averaged perceptron,
        /// the default: on data that are not separable the last weights jump with the last
        /// mistakes) instead of the last ones. The updates, mistakes and stopping rules are unchanged.
        public var averaged = true
        /// Binary problems trained at once (one-vs-all classes or one-vs-one pairs).
        public var threads = 1
        public init() {}

        public var effectivePatience: Int { patience ?? (stopRule == .error ? 50 : 5) }
    }

    public enum StopReason: String, Sendable {
        case converged, maxPasses = "max_passes", errorStalled = "error_stalled", lossStalled = "loss_stalled"
    }

    /// What one binary perceptron did.
    public struct Report: Sendable {
        public var mistakes = 0
        public var passes = 0
        public var stop = StopReason.maxPasses
        public var trainingErrors = 0
        /// The perceptron loss summed over the last pass's visits.
        public var lastPassLoss: Double = 0
    }

    /// Columns of W ([d, outputs] row-major): one per class (one-vs-all or a single binary
    /// problem as 2 columns w, −w) or one per pair (one-vs-one).
    public let weight: [Float]
    public let bias: [Float]
    public let inputCount: Int
    public let classCount: Int
    public let multiclass: MulticlassStrategy
    public let reports: [Report]
    public var outputCount: Int { classCount }
    public var outputKind: ModelFormat.OutputKind { .scores }
    public var totalMistakes: Int { reports.reduce(0) { $0 + $1.mistakes } }

    /// Trains one binary perceptron on `x` (n × d) and labels `y` (±1) into `w` (d) and `b`.
    /// With `settings.averaged`, `sum` (d floats of scratch) accumulates c·y·x per update so the
    /// average over all visits is w − sum/c at the end (c counts visits), without a per-visit pass.
    public static func fitBinary(_ x: Matrix, _ y: UnsafePointer<Float>, w: UnsafeMutablePointer<Float>, b: inout Float,
                                 settings: Settings, sum: UnsafeMutablePointer<Float>? = nil) -> Report {
        let (n, d) = (x.rows, x.columns)
        Kernels.fill(w, with: 0, count: d)
        b = 0
        let averaging = settings.averaged && sum != nil
        if averaging { Kernels.fill(sum!, with: 0, count: d) }
        var sumB: Double = 0, visits: Float = 1
        var report = Report()
        var lastError = -1, unchanged = 0
        var bestLoss = Double.infinity, sinceImprovement = 0
        let patience = settings.effectivePatience, slack = Double(settings.tolerance) * Double(n)
        while report.passes < settings.maxPasses {
            report.passes += 1
            var mistakes = 0
            var loss: Double = 0
            for i in 0..<n {
                let xi = x.row(i)
                let margin = y[i] * (Kernels.dot(xi, w, count: d) + b)
                if margin <= 0 {
                    loss -= Double(margin)
                    Kernels.axpy(y[i], xi, w, count: d)
                    b += y[i]
                    mistakes += 1
                    if averaging { Kernels.axpy(visits * y[i], xi, sum!, count: d); sumB += Double(visits * y[i]) }
                }
                visits += 1
            }
            report.mistakes += mistakes
            report.lastPassLoss = loss
            if mistakes == 0 { report.stop = .converged; break }
            switch settings.stopRule {
            case .loss:
                sinceImprovement = loss > bestLoss - slack ? sinceImprovement + 1 : 0
                bestLoss = min(bestLoss, loss)
                if sinceImprovement >= patience { report.stop = .lossStalled }
            case .error:
                var errors = 0
                for i in 0..<n where y[i] * (Kernels.dot(x.row(i), w, count: d) + b) <= 0 { errors += 1 }
                if errors == lastError { unchanged += 1 } else { unchanged = 0; lastError = errors }
                if unchanged >= patience { report.stop = .errorStalled }
            case .none:
                break
            }
            if report.stop != .maxPasses { break }
        }
        if averaging {
            Kernels.axpy(-1 / visits, sum!, w, count: d)
            b -= Float(sumB / Double(visits))
        }
        for i in 0..<n where y[i] * (Kernels.dot(x.row(i), w, count: d) + b) <= 0 { report.trainingErrors += 1 }
        return report
    }

    /// The arena bytes `fit(set, settings:, arena:)` takes (all released on return).
    public static func arenaBytes(for set: SampleSet, settings: Settings = Settings()) -> FitArenaBytes {
        let (n, d, k) = (set.count, set.featureCount, set.classCount)
        if k == 2 || settings.multiclass == .oneVsAll {
            let columns = k == 2 ? 1 : k
            return FitArenaBytes(peak: 2 * ArenaAllocator.footprint(of: Float.self, count: d * columns)
                                 + ArenaAllocator.footprint(of: Float.self, count: n * columns))
        }
        let largestPair = ClassPairs.all(classes: k).map { set.pairArenaBytes($0.0, $0.1) }.max() ?? 0
        return FitArenaBytes(peak: 2 * ArenaAllocator.footprint(of: Float.self, count: d) + largestPair)
    }

    /// Trains on a classification set: one binary perceptron for two classes (class 1 positive),
    /// else one per class (one-vs-all) or per pair (one-vs-one).
    public static func fit(_ set: SampleSet, settings: Settings = Settings(), arena: ArenaAllocator) throws(ArenaError) -> Perceptron {
        precondition(set.isClassification)
        let (d, k) = (set.featureCount, set.classCount)
        let mark = arena.mark()
        defer { arena.reset(to: mark) }
        var weight: [Float], bias: [Float], reports: [Report] = []
        if k == 2 || settings.multiclass == .oneVsAll {
            let columns = k == 2 ? 1 : k
            // Every class's buffers up front, so the classes can train concurrently.
            let ws = try arena.allocate(Float.self, count: d * columns), sums = try arena.allocate(Float.self, count: d * columns)
            let ys = try arena.allocate(Float.self, count: set.count * columns)
            for c in 0..<columns {
                let positive = k == 2 ? 1 : c
                for i in 0..<set.count { ys[c * set.count + i] = Int(set.labels[i]) == positive ? 1 : -1 }
            }
            var columnReports = [Report](repeating: Report(), count: columns), b = [Float](repeating: 0, count: columns)
            let features = set.features, n = set.count
            columnReports.withUnsafeMutableBufferPointer { reportsOut in
                b.withUnsafeMutableBufferPointer { biasOut in
                    parallelFor(columns, threads: settings.threads) { c in
                        var bc: Float = 0
                        reportsOut[c] = fitBinary(features, ys.baseAddress! + c * n, w: ws.baseAddress! + c * d, b: &bc,
                                                  settings: settings, sum: sums.baseAddress! + c * d)
                        biasOut[c] = bc
                    }
                }
            }
            reports = columnReports
            var columnsW = [Float](repeating: 0, count: d * columns)
            for c in 0..<columns { for j in 0..<d { columnsW[j * columns + c] = ws[c * d + j] } }
            if k == 2 { // scores (−s, s): class 1 wins exactly when the binary score is positive
                weight = (0..<d).flatMap { [-columnsW[$0], columnsW[$0]] }
                bias = [-b[0], b[0]]
            } else {
                weight = columnsW; bias = b
            }
        } else {
            let pairs = ClassPairs.all(classes: k)
            let w = try arena.allocate(Float.self, count: d), sum = try arena.allocate(Float.self, count: d)
            weight = [Float](repeating: 0, count: d * pairs.count); bias = [Float](repeating: 0, count: pairs.count)
            for (p, (a, c)) in pairs.enumerated() {
                let inner = arena.mark()
                let (x, y) = try set.pair(a, c, arena: arena)
                var bp: Float = 0
                reports.append(fitBinary(x, y.baseAddress!, w: w.baseAddress!, b: &bp, settings: settings, sum: sum.baseAddress!))
                for j in 0..<d { weight[j * pairs.count + p] = w[j] }
                bias[p] = bp
                arena.reset(to: inner)
            }
        }
        let strategy: MulticlassStrategy = k == 2 ? .oneVsAll : settings.multiclass
        return Perceptron(weight: weight, bias: bias, inputCount: d, classCount: k, multiclass: strategy, reports: reports)
    }

    private var columns: Int { bias.count }

    public func predict(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        LinearScores.compute(input, weight: weight, bias: bias, inputs: inputCount, into: output,
                             vote: multiclass == .oneVsOne ? classCount : nil)
    }

    public var stages: [ModelStage] {
        var s: [ModelStage] = [.dense(weight: weight, bias: bias, inputs: inputCount, outputs: columns)]
        if multiclass == .oneVsOne { s.append(.pairwiseVote(classes: classCount)) }
        return s
    }
}

/// x·W + b for one input, optionally followed by the one-vs-one vote, exactly as the runtime's
/// dense and vote stages compute them.
enum LinearScores {
    static func compute(_ x: UnsafePointer<Float>, weight: [Float], bias: [Float], inputs: Int,
                        into output: UnsafeMutablePointer<Float>, vote classes: Int?) {
        let outputs = bias.count
        weight.withUnsafeBufferPointer { w in
            bias.withUnsafeBufferPointer { b in
                guard let classes else {
                    Kernels.denseOne(x, inputs: inputs, outputs: outputs, weight: w.baseAddress!, bias: b.baseAddress!,
                                     into: output, indices: nil, values: nil)
                    return
                }
                withUnsafeTemporaryAllocation(of: Float.self, capacity: outputs) { scores in
                    Kernels.denseOne(x, inputs: inputs, outputs: outputs, weight: w.baseAddress!, bias: b.baseAddress!,
                                     into: scores.baseAddress!, indices: nil, values: nil)
                    PairwiseVote.apply(scores.baseAddress!, classes: classes, into: output)
                }
            }
        }
    }
}
