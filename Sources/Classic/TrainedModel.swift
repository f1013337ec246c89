import Arena
import Infer
import Training
import ModelFile
import LowLevel

/// Arena bytes a fit takes, planned from the training set and settings before it runs: its peak,
/// and what stays allocated for the returned model (support vectors, stored points). The tests
/// check that a fit's high-water mark equals `peak` exactly.
public struct FitArenaBytes: Sendable, Equatable {
    public var peak: Int
    public var kept: Int
    public init(peak: Int, kept: Int = 0) { self.peak = peak; self.kept = kept }
    /// Nothing in the arena (the least-squares models work in Swift arrays).
    public static let none = FitArenaBytes(peak: 0)
}

/// A fitted classic model: predicts in Swift and describes itself as runtime stages for export.
public protocol TrainedModel {
    /// Features one input holds.
    var inputCount: Int { get }
    /// Outputs per input: one per class (scores or probabilities) or per regression target.
    var outputCount: Int { get }
    var outputKind: ModelFormat.OutputKind { get }
    /// Outputs for one input of `inputCount` floats into `output` (`outputCount` floats).
    func predict(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>)
    /// Outputs for every row of `x` into the rows of `output`. Scratch, if any, comes from `arena`
    /// and is released before returning. The default runs `predict` row by row.
    func predict(_ x: Matrix, into output: Matrix, arena: ArenaAllocator) throws(ArenaError)
    /// The arena bytes `predict(_:into:arena:)` takes for `rows` rows (released on return).
    func predictionArenaBytes(rows: Int) -> Int
    /// The stages that compute the same outputs in the runtime (`ModelWriter.encode(stages:…)`).
    var stages: [ModelStage] { get }
}

extension TrainedModel {
    public func predictionArenaBytes(rows: Int) -> Int { 0 }

    /// The arena bytes `accuracy(on:arena:)` or `meanSquaredError(on:arena:)` take on `rows` rows.
    public func evaluationArenaBytes(rows: Int) -> Int {
        ArenaAllocator.footprint(of: Float.self, count: rows * outputCount) + predictionArenaBytes(rows: rows)
    }

    public func predict(_ x: Matrix, into output: Matrix, arena: ArenaAllocator) throws(ArenaError) {
        precondition(x.columns == inputCount && output.columns == outputCount && output.rows >= x.rows)
        for r in 0..<x.rows { predict(x.row(r), into: output.row(r)) }
    }

    /// Fraction of `set` whose largest output is its label.
    public func accuracy(on set: SampleSet, arena: ArenaAllocator) throws(ArenaError) -> Double {
        precondition(set.isClassification && set.featureCount == inputCount)
        let mark = arena.mark()
        defer { arena.reset(to: mark) }
        let out = Matrix(try arena.allocate(Float.self, count: set.count * outputCount), rows: set.count, columns: outputCount)
        try predict(set.features, into: out, arena: arena)
        var right = 0
        for r in 0..<set.count where Kernels.argmax(out.row(r), count: outputCount) == Int(set.labels[r]) { right += 1 }
        return set.count == 0 ? 0 : Double(right) / Double(set.count)
    }

    /// Mean squared error of the first output against `set`'s targets.
    public func meanSquaredError(on set: SampleSet, arena: ArenaAllocator) throws(ArenaError) -> Double {
        precondition(!set.isClassification && set.featureCount == inputCount)
        let mark = arena.mark()
        defer { arena.reset(to: mark) }
        let out = Matrix(try arena.allocate(Float.self, count: set.count * outputCount), rows: set.count, columns: outputCount)
        try predict(set.features, into: out, arena: arena)
        var sum = 0.0
        for r in 0..<set.count { let e = Double(out[r, 0] - set.targets[r]); sum += e * e }
        return set.count == 0 ? 0 : sum / Double(set.count)
    }
}
