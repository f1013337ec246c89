import LowLevel
import ModelFile

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

    /// R² = 1 − mse / Var(targets) (the variance with 1/n), 0 for constant targets: the share of
    /// the targets' variance a regression with this mean squared error explains.
    public static func rSquared<S: Collection>(mse: Double, targets: S) -> Double where S.Element == Float {
        let n = Double(max(targets.count, 1))
        let mean = targets.reduce(0.0) { $0 + Double($1) } / n
        let variance = targets.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        return variance > 0 ? 1 - mse / variance : 0
    }
}
