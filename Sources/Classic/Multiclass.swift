/// How a binary classifier is extended to K classes.
public enum MulticlassStrategy: String, Sendable, CaseIterable {
    /// One-vs-all ("ova"): K classifiers, class c against the rest; the largest score wins.
    case oneVsAll = "ova"
    /// One-vs-one ("ovo"): K(K−1)/2 classifiers, one per pair; majority vote (`ModelStage.pairwiseVote`).
    case oneVsOne = "ovo"
}

/// The class pairs of one-vs-one, in the order the runtime's vote expects: (0,1), (0,2), …,
/// (0,K−1), (1,2), …, (K−2,K−1).
public enum ClassPairs {
    public static func count(classes k: Int) -> Int { k * (k - 1) / 2 }

    public static func all(classes k: Int) -> [(Int, Int)] {
        var pairs: [(Int, Int)] = []
        for a in 0..<k { for b in (a + 1)..<max(a + 1, k) { pairs.append((a, b)) } }
        return pairs
    }
}
