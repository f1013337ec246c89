import ModelFile
#if canImport(Glibc)
import Glibc
#endif

/// Binary cross-entropy of one logit per row against a 0/1 label (the course's binary classifier
/// with a sigmoid output): L = (1/B) Σ log(1 + e^(−y·z)), y = 2t − 1 (= −t log σ(z) − (1 − t)
/// log(1 − σ(z))), computed without overflow; dL/dz = (σ(z) − t)/B.
public enum BinaryCrossEntropy {
    /// - Precondition: `logits` has one column; labels are 0 or 1.
    public static func evaluate(logits: Matrix, labels: UnsafePointer<Int32>, gradient: Matrix?) -> Float {
        precondition(logits.columns == 1)
        let b = logits.rows
        guard b > 0 else { return 0 }
        var total: Float = 0
        let inverse = 1 / Float(b)
        for r in 0..<b {
            let z = logits.base[r], t: Float = labels[r] == 1 ? 1 : 0
            let margin = (2 * t - 1) * z
            total += margin > 0 ? log1pf(expf(-margin)) : -margin + log1pf(expf(margin))
            if let gradient {
                let sigma = z >= 0 ? 1 / (1 + expf(-z)) : expf(z) / (1 + expf(z))
                gradient.base[r] = (sigma - t) * inverse
            }
        }
        return total * inverse
    }
}
