import Arena
import Infer
import Training
import ModelFile
import LowLevel
import MNIST

/// Samples for the classic models: an n × d float matrix in an arena and, per row, a class index
/// (classification) or a value (regression).
public struct SampleSet {
    public let features: Matrix
    /// Class indices in 0..<classCount; empty for regression.
    public let labels: UnsafeMutableBufferPointer<Int32>
    /// Regression targets; empty for classification.
    public let targets: UnsafeMutableBufferPointer<Float>
    /// Number of classes; 0 for regression.
    public let classCount: Int

    public var count: Int { features.rows }
    public var featureCount: Int { features.columns }
    public var isClassification: Bool { classCount > 0 }

    /// - Precondition: `labels` has one entry per row, each in 0..<classCount, classCount ≥ 2.
    public init(features: Matrix, labels: UnsafeMutableBufferPointer<Int32>, classCount: Int) {
        precondition(labels.count == features.rows && classCount >= 2)
        precondition(labels.allSatisfy { $0 >= 0 && Int($0) < classCount }, "label out of range")
        self.features = features
        self.labels = labels
        self.targets = UnsafeMutableBufferPointer(start: nil, count: 0)
        self.classCount = classCount
    }

    /// - Precondition: `targets` has one entry per row.
    public init(features: Matrix, targets: UnsafeMutableBufferPointer<Float>) {
        precondition(targets.count == features.rows)
        self.features = features
        self.labels = UnsafeMutableBufferPointer(start: nil, count: 0)
        self.targets = targets
        self.classCount = 0
    }

    /// Arena bytes a set of `rows` × `columns` features and one label or target per row takes
    /// (every initialiser that copies into an arena).
    public static func arenaBytes(rows: Int, columns: Int) -> Int {
        ArenaAllocator.footprint(of: Float.self, count: rows * columns) + ArenaAllocator.footprint(of: Int32.self, count: rows)
    }

    /// Rows of classes `a` and `b`.
    public func pairCount(_ a: Int, _ b: Int) -> Int {
        var n = 0
        for i in 0..<count where Int(labels[i]) == a || Int(labels[i]) == b { n += 1 }
        return n
    }

    /// Arena bytes of `pair(a, b, arena:)`.
    public func pairArenaBytes(_ a: Int, _ b: Int) -> Int {
        let n = pairCount(a, b)
        return ArenaAllocator.footprint(of: Float.self, count: n * featureCount) + ArenaAllocator.footprint(of: Float.self, count: n)
    }

    /// Copies row-major `values` (n × d) and their labels into `arena`.
    public init(values: [Float], rows: Int, columns: Int, labels: [Int32], classCount: Int, arena: ArenaAllocator) throws(ArenaError) {
        precondition(values.count == rows * columns)
        let x = try arena.allocate(Float.self, count: rows * columns)
        _ = x.initialize(fromContentsOf: values)
        let y = try arena.allocate(Int32.self, count: rows)
        _ = y.initialize(fromContentsOf: labels)
        self.init(features: Matrix(x, rows: rows, columns: columns), labels: y, classCount: classCount)
    }

    /// Copies row-major `values` (n × d) and their regression targets into `arena`.
    public init(values: [Float], rows: Int, columns: Int, targets: [Float], arena: ArenaAllocator) throws(ArenaError) {
        precondition(values.count == rows * columns && targets.count == rows)
        let x = try arena.allocate(Float.self, count: rows * columns)
        _ = x.initialize(fromContentsOf: values)
        let y = try arena.allocate(Float.self, count: rows)
        _ = y.initialize(fromContentsOf: targets)
        self.init(features: Matrix(x, rows: rows, columns: columns), targets: y)
    }

    /// The first `limit` images (all when nil), pixels scaled to [0, 1], 10 classes.
    public init(images: LabeledImages, limit: Int? = nil, arena: ArenaAllocator) throws(ArenaError) {
        let n = min(limit ?? images.count, images.count), d = images.pixelsPerImage
        let x = try arena.allocate(Float.self, count: n * d)
        images.pixels.withUnsafeBufferPointer { p in
            Kernels.convert(p.baseAddress!, scale: 1 / 255, into: x.baseAddress!, count: n * d)
        }
        let y = try arena.allocate(Int32.self, count: n)
        for i in 0..<n { y[i] = Int32(images.labels[i]) }
        self.init(features: Matrix(x, rows: n, columns: d), labels: y, classCount: 10)
    }

    /// The first `n` samples (no copy).
    public func prefix(_ n: Int) -> SampleSet {
        let m = min(n, count)
        if isClassification {
            return SampleSet(features: features.prefix(rows: m), labels: UnsafeMutableBufferPointer(rebasing: labels[0..<m]), classCount: classCount)
        }
        return SampleSet(features: features.prefix(rows: m), targets: UnsafeMutableBufferPointer(rebasing: targets[0..<m]))
    }

    /// Labels as ±1: +1 for `positive`, −1 for every other class, into `arena`.
    public func signs(positive: Int, arena: ArenaAllocator) throws(ArenaError) -> UnsafeMutableBufferPointer<Float> {
        precondition(isClassification)
        let y = try arena.allocate(Float.self, count: count)
        for i in 0..<count { y[i] = Int(labels[i]) == positive ? 1 : -1 }
        return y
    }

    /// The samples of classes `a` and `b` only, copied into `arena` in their original order, with
    /// labels +1 for `a` and −1 for `b` (one-vs-one sub-problems).
    public func pair(_ a: Int, _ b: Int, arena: ArenaAllocator) throws(ArenaError) -> (features: Matrix, signs: UnsafeMutableBufferPointer<Float>) {
        precondition(isClassification && a != b)
        var n = 0
        for i in 0..<count where Int(labels[i]) == a || Int(labels[i]) == b { n += 1 }
        let x = try arena.allocate(Float.self, count: n * featureCount)
        let y = try arena.allocate(Float.self, count: n)
        var r = 0
        for i in 0..<count where Int(labels[i]) == a || Int(labels[i]) == b {
            (x.baseAddress! + r * featureCount).update(from: features.row(i), count: featureCount)
            y[r] = Int(labels[i]) == a ? 1 : -1
            r += 1
        }
        return (Matrix(x, rows: n, columns: featureCount), y)
    }
}
