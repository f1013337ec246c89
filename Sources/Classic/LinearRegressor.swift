import Infer

/// A fitted linear regression y = ⟨w, x⟩ + b (least squares, ridge, lasso, total least squares).
/// Fitting runs in Double; prediction uses the weights rounded to Float, through the same kernel
/// as the runtime's dense layer, so Swift and the exported file agree exactly.
public protocol LinearRegressor: TrainedModel {
    var weights: [Double] { get }
    var intercept: Double { get }
}

extension LinearRegressor {
    public var inputCount: Int { weights.count }
    public var outputCount: Int { 1 }
    public var outputKind: ModelFormat.OutputKind { .values }

    public func predict(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        LinearScores.compute(input, weight: weights.map { Float($0) }, bias: [Float(intercept)], inputs: weights.count,
                             into: output, vote: nil)
    }

    public var stages: [ModelStage] {
        [.dense(weight: weights.map { Float($0) }, bias: [Float(intercept)], inputs: weights.count, outputs: 1)]
    }
}
