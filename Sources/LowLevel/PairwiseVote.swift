
/// One-vs-one majority vote (`ModelStage.pairwiseVote`), shared by training code and the runtime so
/// both give identical scores.
public enum PairwiseVote {
    /// Per-class scores from the K(K−1)/2 pair decision values in the order (0,1), (0,2), …,
    /// (K−2,K−1) (positive: a vote for the first class): each class's votes plus c/(3(|c|+1)),
    /// where c sums the class's signed decision values. That term lies in (−1/3, 1/3), so it only
    /// breaks ties between classes with equal votes; a remaining exact tie goes to the lower class
    /// index (argmax takes the first maximum).
    public static func apply(_ decisions: UnsafePointer<Float>, classes k: Int, into scores: UnsafeMutablePointer<Float>) {
        for c in 0..<k {
            var votes: Float = 0, confidence: Float = 0
            // Pairs (a, c) with a < c: c is the second class.
            for a in 0..<c {
                let d = decisions[pairIndex(a, c, classes: k)]
                if d <= 0 { votes += 1 }
                confidence -= d
            }
            // Pairs (c, b) with b > c: c is the first class.
            if c + 1 < k {
                for b in (c + 1)..<k {
                    let d = decisions[pairIndex(c, b, classes: k)]
                    if d > 0 { votes += 1 }
                    confidence += d
                }
            }
            scores[c] = votes + confidence / (3 * (abs(confidence) + 1))
        }
    }

    /// Position of the pair (a, b), a < b, among the K(K−1)/2 pairs.
    @inline(__always)
    public static func pairIndex(_ a: Int, _ b: Int, classes k: Int) -> Int {
        a * (2 * k - a - 1) / 2 + (b - a - 1)
    }
}
