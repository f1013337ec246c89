import LowLevel

/// Mean squared error over all outputs: L = (1/(B·n)) Σ (y − t)², dL/dy = 2(y − t)/(B·n).
public enum MeanSquaredError {
    public static func evaluate(output: Matrix, targets: UnsafePointer<Float>, gradient: Matrix?) -> Float {
        let n = output.count
        guard n > 0 else { return 0 }
        var total: Float = 0
        let scale = 2 / Float(n)
        for i in 0..<n {
            let d = output.base[i] - targets[i]
            total += d * d
            if let gradient { gradient.base[i] = scale * d }
        }
        return total / Float(n)
    }
}
