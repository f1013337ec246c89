import Arena
import Infer
import Training
import ModelFile

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

    /// Rows of `x`, with the weights rounded to Float once rather than per row.
    public func predict(_ x: Matrix, into output: Matrix, arena: ArenaAllocator) throws(ArenaError) {
        precondition(x.columns == inputCount && output.columns == 1 && output.rows >= x.rows)
        let weight = weights.map { Float($0) }, bias = [Float(intercept)]
        for r in 0..<x.rows { LinearScores.compute(x.row(r), weight: weight, bias: bias, inputs: inputCount, into: output.row(r), vote: nil) }
    }

    public var stages: [ModelStage] {
        [.dense(weight: weights.map { Float($0) }, bias: [Float(intercept)], inputs: weights.count, outputs: 1)]
    }
}

/// Feature and target means of a regression set, so the intercept b = ȳ − ⟨w, x̄⟩ stays out of
/// the fit (and of any penalty) in least squares, lasso and total least squares.
struct Centring {
    let featureMeans: [Double]
    let targetMean: Double

    /// Means of row-major `x` (n × d) and `y` (n); all zero when `enabled` is false.
    init(x: [Double], y: [Double], columns d: Int, enabled: Bool = true) {
        let n = y.count
        var xm = [Double](repeating: 0, count: d), ym = 0.0
        if enabled && n > 0 {
            for r in 0..<n { for c in 0..<d { xm[c] += x[r * d + c] }; ym += y[r] }
            for c in 0..<d { xm[c] /= Double(n) }
            ym /= Double(n)
        }
        featureMeans = xm
        targetMean = ym
    }

    /// Element (r, c) of the centred features.
    @inline(__always) func feature(_ x: [Double], _ r: Int, _ c: Int) -> Double {
        x[r * featureMeans.count + c] - featureMeans[c]
    }

    /// The intercept that goes with weights fitted on centred data.
    func intercept(for weights: [Double]) -> Double {
        var b = targetMean
        for c in 0..<weights.count { b -= weights[c] * featureMeans[c] }
        return b
    }
}
