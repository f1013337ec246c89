import LowLevel
import ModelFile

/// Softmax followed by cross-entropy against integer labels, fused for numerical stability:
/// L = (1/B) Σᵢ [log Σⱼ e^{zᵢⱼ} − zᵢ,yᵢ], and dL/dz = (softmax(z) − onehot(y)) / B.
public enum SoftmaxCrossEntropy {
    /// Mean loss over the rows of `logits`; writes dL/dlogits into `gradient` when given
    /// (it may be `logits` itself).
    /// - Precondition: every label is in 0..<logits.columns.
    public static func evaluate(logits: Matrix, labels: UnsafePointer<Int32>, gradient: Matrix?) -> Float {
        let classes = logits.columns
        var total: Float = 0
        let invBatch = 1 / Float(logits.rows)
        for r in 0..<logits.rows {
            let z = logits.row(r)
            let label = Int(labels[r])
            precondition(label >= 0 && label < classes, "label \(label) outside 0..<\(classes)")
            let lse = Kernels.logSumExp(z, count: classes)
            total += lse - z[label]
            if let gradient {
                let g = gradient.row(r)
                // softmax(z) = e^{z − lse}
                for j in 0..<classes { g[j] = expf(z[j] - lse) * invBatch }
                g[label] -= invBatch
            }
        }
        return total * invBatch
    }
}

#if canImport(Glibc)
import Glibc
#endif
