import Arena
import Infer
import Training
import ModelFile

/// k-fold cross-validation: the partition of a training set into folds, the copy of a fold's
/// rows, and the summary of a setting's fold scores. Model fitting and scoring stay with the
/// caller (the `train` command runs its usual fit on each fold).
public enum CrossValidation {
    /// Row indices of each of `k` folds, every row in exactly one, in increasing order within a
    /// fold. Classification sets are stratified: each class's rows, shuffled by `seed`, are dealt
    /// in turn to the folds (the dealing goes on from class to class, so fold sizes differ by at
    /// most one). Regression sets are shuffled and dealt the same way.
    /// - Precondition: 2 ≤ k ≤ set.count.
    public static func folds(of set: SampleSet, k: Int, seed: UInt64) -> [[Int]] {
        precondition(k >= 2 && k <= set.count)
        var folds = [[Int]](repeating: [], count: k)
        var next = 0
        for group in HeldOutRows.shuffled(groups(set), seed: seed) {
            for row in group {
                folds[next].append(row)
                next = (next + 1) % k
            }
        }
        return folds.map { $0.sorted() }
    }

    /// A held-out split: of each class (of all rows, for regression), the rounded `fraction` of
    /// its rows, chosen by `seed`; both parts in increasing order.
    /// - Precondition: 0 < fraction < 1.
    public static func holdOut(_ set: SampleSet, fraction: Double, seed: UInt64) -> (kept: [Int], held: [Int]) {
        HeldOutRows.split(groups(set), count: set.count, fraction: fraction, seed: seed)
    }

    private static func groups(_ set: SampleSet) -> [[Int]] {
        HeldOutRows.groups(count: set.count, classes: set.isClassification ? set.classCount : 0) { Int(set.labels[$0]) }
    }

    /// The rows not in fold `f`, in increasing order.
    public static func complement(of f: Int, in folds: [[Int]]) -> [Int] {
        folds.enumerated().filter { $0.offset != f }.flatMap(\.element).sorted()
    }

    /// Mean and sample standard deviation (n − 1) of fold scores.
    public static func summary(_ scores: [Double]) -> (mean: Double, spread: Double) {
        let mean = scores.reduce(0, +) / Double(max(scores.count, 1))
        guard scores.count > 1 else { return (mean, 0) }
        let variance = scores.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(scores.count - 1)
        return (mean, variance.squareRoot())
    }
}

extension SampleSet {
    /// The rows `kept` and the rows `held`, copied into one arena of exactly their size (returned
    /// with them: the sets live in it).
    public func split(kept: [Int], held: [Int]) throws -> (kept: SampleSet, held: SampleSet, arena: ArenaAllocator) {
        let arena = try ArenaAllocator(capacity: Self.arenaBytes(rows: kept.count, columns: featureCount)
                                       + Self.arenaBytes(rows: held.count, columns: featureCount))
        return (try subset(kept, arena: arena), try subset(held, arena: arena), arena)
    }

    /// The rows `rows` (in that order), copied into `arena` with their labels or targets
    /// (`SampleSet.arenaBytes(rows: rows.count, columns: featureCount)` bytes).
    public func subset(_ rows: [Int], arena: ArenaAllocator) throws(ArenaError) -> SampleSet {
        let d = featureCount
        let x = try arena.allocate(Float.self, count: rows.count * d)
        for (r, i) in rows.enumerated() { (x.baseAddress! + r * d).update(from: features.row(i), count: d) }
        let matrix = Matrix(x, rows: rows.count, columns: d)
        if isClassification {
            let y = try arena.allocate(Int32.self, count: rows.count)
            for (r, i) in rows.enumerated() { y[r] = labels[i] }
            return SampleSet(features: matrix, labels: y, classCount: classCount)
        }
        let y = try arena.allocate(Float.self, count: rows.count)
        for (r, i) in rows.enumerated() { y[r] = targets[i] }
        return SampleSet(features: matrix, targets: y)
    }
}
