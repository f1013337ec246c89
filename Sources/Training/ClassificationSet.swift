import LowLevel
import ModelFile
import MNIST

/// Samples with integer class labels, stored compactly (image bytes or floats) and turned into a
/// float batch on demand, so a whole data set never needs a float copy.
public struct ClassificationSet: Sendable {
    public enum Features: Sendable {
        /// Bytes scaled by `scale` (pixels: 1/255).
        case bytes([UInt8], scale: Float)
        case floats([Float])
    }

    public let features: Features
    /// Class labels; all 0 for a regression set.
    public let labels: [Int32]
    /// Target values, one per sample, for regression (mean squared error); empty otherwise.
    public let values: [Float]
    public let featureCount: Int
    public let classCount: Int

    public var count: Int { labels.count }

    /// - Precondition: features hold `labels.count * featureCount` values; labels are in 0..<classCount.
    public init(features: Features, labels: [Int32], featureCount: Int, classCount: Int) {
        switch features {
        case .bytes(let b, _): precondition(b.count == labels.count * featureCount)
        case .floats(let f): precondition(f.count == labels.count * featureCount)
        }
        precondition(labels.allSatisfy { $0 >= 0 && Int($0) < classCount })
        self.features = features
        self.labels = labels
        self.values = []
        self.featureCount = featureCount
        self.classCount = classCount
    }

    /// A regression set: features with one target value per sample (labels all 0, one "class").
    public init(features: Features, values: [Float], featureCount: Int) {
        switch features {
        case .bytes(let b, _): precondition(b.count == values.count * featureCount)
        case .floats(let f): precondition(f.count == values.count * featureCount)
        }
        self.features = features
        self.labels = [Int32](repeating: 0, count: values.count)
        self.values = values
        self.featureCount = featureCount
        self.classCount = 1
    }

    public var isRegression: Bool { !values.isEmpty }

    /// MNIST-style images, pixels scaled to [0, 1], 10 classes.
    public init(images: LabeledImages) {
        self.init(features: .bytes(images.pixels, scale: 1 / 255), labels: images.labels.map(Int32.init),
                  featureCount: images.pixelsPerImage, classCount: 10)
    }

    /// The samples `rows`, in that order (copies their features and labels).
    public func subset(_ rows: [Int]) -> ClassificationSet {
        let d = featureCount
        let picked: Features
        switch features {
        case .bytes(let bytes, let scale):
            var out = [UInt8](); out.reserveCapacity(rows.count * d)
            for r in rows { out += bytes[(r * d)..<((r + 1) * d)] }
            picked = .bytes(out, scale: scale)
        case .floats(let floats):
            var out = [Float](); out.reserveCapacity(rows.count * d)
            for r in rows { out += floats[(r * d)..<((r + 1) * d)] }
            picked = .floats(out)
        }
        if isRegression { return ClassificationSet(features: picked, values: rows.map { values[$0] }, featureCount: d) }
        return ClassificationSet(features: picked, labels: rows.map { labels[$0] }, featureCount: d, classCount: classCount)
    }

    /// Holds out `fraction` of the samples for validation, stratified: of each class, the rounded
    /// fraction of its samples, chosen by `seed`. Both parts keep the samples' original order.
    public func split(validationFraction fraction: Double, seed: UInt64) -> (train: ClassificationSet, validation: ClassificationSet) {
        let groups = HeldOutRows.groups(count: count, classes: classCount) { Int(labels[$0]) }
        let (kept, held) = HeldOutRows.split(groups, count: count, fraction: fraction, seed: seed)
        return (subset(kept), subset(held))
    }

    /// Copies the samples `indices[0..<n]` into the first `n` rows of `batch` and their labels
    /// into `batchLabels`. Allocates nothing.
    public func gather(_ indices: UnsafePointer<Int32>, count n: Int, into batch: Matrix,
                       labels batchLabels: UnsafeMutablePointer<Int32>, values batchValues: UnsafeMutablePointer<Float>? = nil) {
        gather(count: n, into: batch, labels: batchLabels, values: batchValues) { Int(indices[$0]) }
    }

    /// Copies the samples `start..<start + n` (evaluation's consecutive batches). Allocates nothing.
    public func gather(rowsFrom start: Int, count n: Int, into batch: Matrix, labels batchLabels: UnsafeMutablePointer<Int32>,
                       values batchValues: UnsafeMutablePointer<Float>? = nil) {
        precondition(start >= 0 && start + n <= count)
        gather(count: n, into: batch, labels: batchLabels, values: batchValues) { start + $0 }
    }

    @inline(__always)
    private func gather(count n: Int, into batch: Matrix, labels batchLabels: UnsafeMutablePointer<Int32>,
                        values batchValues: UnsafeMutablePointer<Float>?, _ sample: (Int) -> Int) {
        precondition(batch.columns == featureCount && n <= batch.rows)
        labels.withUnsafeBufferPointer { all in
            for r in 0..<n { batchLabels[r] = all[sample(r)] }
        }
        if let batchValues, isRegression {
            values.withUnsafeBufferPointer { all in
                for r in 0..<n { batchValues[r] = all[sample(r)] }
            }
        }
        switch features {
        case .bytes(let bytes, let scale):
            bytes.withUnsafeBufferPointer { all in
                for r in 0..<n {
                    Kernels.convert(all.baseAddress! + sample(r) * featureCount, scale: scale, into: batch.row(r), count: featureCount)
                }
            }
        case .floats(let floats):
            floats.withUnsafeBufferPointer { all in
                for r in 0..<n { batch.row(r).update(from: all.baseAddress! + sample(r) * featureCount, count: featureCount) }
            }
        }
    }
}
