import LowLevel
import ModelFile

/// Choosing rows to hold out of a training set (validation splits, cross-validation folds), the
/// same way for networks and classic models: rows grouped by class (all in one group for
/// regression), each group shuffled by the project's generator, so the choice is the same on every
/// platform for a given seed.
public enum HeldOutRows {
    /// Row indices by class label (`classes` groups; one group of all rows when `classes` ≤ 1).
    public static func groups(count: Int, classes: Int, label: (Int) -> Int) -> [[Int]] {
        guard classes > 1 else { return [Array(0..<count)] }
        var groups = [[Int]](repeating: [], count: classes)
        for i in 0..<count { groups[label(i)].append(i) }
        return groups
    }

    /// Each group shuffled in turn by one generator seeded with `seed`.
    public static func shuffled(_ groups: [[Int]], seed: UInt64) -> [[Int]] {
        var rng = RandomGenerator(seed: seed)
        return groups.map { group in
            var g = group
            rng.shuffle(&g)
            return g
        }
    }

    /// Of each group, the rounded `fraction` of its rows (chosen by `seed`) held out; both parts
    /// in increasing order.
    public static func split(_ groups: [[Int]], count: Int, fraction: Double, seed: UInt64) -> (kept: [Int], held: [Int]) {
        precondition(fraction > 0 && fraction < 1)
        var held = [Bool](repeating: false, count: count)
        // Its own stream ("VALIDATE"), not the training shuffle's.
        for group in shuffled(groups, seed: seed ^ 0x5641_4C49_4441_5445) {
            for row in group.prefix(Int((Double(group.count) * fraction).rounded())) { held[row] = true }
        }
        return (held.indices.filter { !held[$0] }, held.indices.filter { held[$0] })
    }
}
