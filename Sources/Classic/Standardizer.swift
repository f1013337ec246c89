import Arena
import Infer
import Training
import ModelFile

/// Feature standardisation: (x − mean) / std per feature, with the mean and population standard
/// deviation of the training rows only. A constant feature gets std 1 (it becomes 0, not NaN).
public struct Standardizer: Sendable {
    public let mean: [Float]
    public let std: [Float]

    /// Statistics of row-major `values` with `columns` features (computed in Double).
    public init(fitting values: [Float], columns: Int) {
        let rows = columns == 0 ? 0 : values.count / columns
        var mean = [Double](repeating: 0, count: columns), sq = [Double](repeating: 0, count: columns)
        for r in 0..<rows { for c in 0..<columns { mean[c] += Double(values[r * columns + c]) } }
        for c in 0..<columns { mean[c] /= Double(max(rows, 1)) }
        for r in 0..<rows { for c in 0..<columns { let d = Double(values[r * columns + c]) - mean[c]; sq[c] += d * d } }
        self.mean = mean.map { Float($0) }
        self.std = sq.map { s in
            let v = (s / Double(max(rows, 1))).squareRoot()
            return v > 1e-12 ? Float(v) : 1
        }
    }

    public init(fitting data: TabularData) { self.init(fitting: data.features, columns: data.columns) }

    /// Standardised copy of row-major `values`, computed as x·scale + shift with the stage's
    /// float scale and shift, so Swift and the runtime see bit-identical features.
    public func apply(_ values: [Float]) -> [Float] {
        let d = mean.count
        let scale = std.map { 1 / $0 }, shift = zip(mean, std).map { -$0 / $1 }
        return values.enumerated().map { i, v in v * scale[i % d] + shift[i % d] }
    }

    public func apply(_ data: TabularData) -> TabularData {
        var out = data
        out.features = apply(data.features)
        return out
    }

    /// The same map as a runtime stage, to put in front of a model trained on standardised data.
    public var stage: ModelStage {
        .affine(scale: std.map { 1 / $0 }, shift: zip(mean, std).map { -$0 / $1 })
    }
}

extension SampleSet {
    /// `data` copied into `arena`: labels for classification, targets for regression.
    public init(_ data: TabularData, arena: ArenaAllocator) throws(ArenaError) {
        if data.isClassification {
            try self.init(values: data.features, rows: data.rows, columns: data.columns,
                          labels: data.targets.map { Int32($0) }, classCount: max(data.classCount, 2), arena: arena)
        } else {
            try self.init(values: data.features, rows: data.rows, columns: data.columns, targets: data.targets, arena: arena)
        }
    }
}
