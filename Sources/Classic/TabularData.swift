import Foundation

/// A small data set read from CSV: a header row, then one sample per line with the features first
/// and the target last. A target column named `label` holds integer classes (0, 1, …); any other
/// name (`target`) holds regression values.
public struct TabularData: Sendable {
    public var featureNames: [String]
    /// Row-major, `rows × featureNames.count`.
    public var features: [Float]
    /// Class index (as a float) or regression value, per row.
    public var targets: [Float]
    public var isClassification: Bool

    public var rows: Int { targets.count }
    public var columns: Int { featureNames.count }
    /// Classes (largest label + 1) for classification, 0 for regression.
    public var classCount: Int { isClassification ? Int(targets.max() ?? -1) + 1 : 0 }

    public struct LoadError: Error, CustomStringConvertible {
        public let description: String
    }

    /// Reads a CSV file. Throws on missing files, ragged rows, unparsable numbers, and labels that
    /// are not non-negative integers.
    public static func load(csv path: String) throws -> TabularData {
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw LoadError(description: "cannot read \(path)")
        }
        var lines = text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
        guard !lines.isEmpty else { throw LoadError(description: "\(path) is empty") }
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
        guard header.count >= 2 else { throw LoadError(description: "\(path): need at least one feature and a target column") }
        let classification = header.last == "label"
        var features: [Float] = [], targets: [Float] = []
        features.reserveCapacity(lines.count * (header.count - 1))
        for (n, line) in lines.enumerated() {
            let fields = line.split(separator: ",", omittingEmptySubsequences: false)
            guard fields.count == header.count else {
                throw LoadError(description: "\(path) line \(n + 2): \(fields.count) fields, the header has \(header.count)")
            }
            for (i, field) in fields.enumerated() {
                guard let v = Float(field.trimmingCharacters(in: .whitespaces)), v.isFinite else {
                    throw LoadError(description: "\(path) line \(n + 2): '\(field)' is not a finite number")
                }
                if i < fields.count - 1 { features.append(v) } else { targets.append(v) }
            }
            if classification, let y = targets.last, !(y >= 0 && y == y.rounded() && y < 1e6) {
                throw LoadError(description: "\(path) line \(n + 2): label \(y) is not a class index")
            }
        }
        return TabularData(featureNames: Array(header.dropLast()), features: features, targets: targets, isClassification: classification)
    }

    /// The rows at `indices`, in that order.
    public func rows(_ indices: [Int]) -> TabularData {
        var f: [Float] = [], t: [Float] = []
        f.reserveCapacity(indices.count * columns)
        for i in indices {
            f += features[(i * columns)..<((i + 1) * columns)]
            t.append(targets[i])
        }
        return TabularData(featureNames: featureNames, features: f, targets: t, isClassification: isClassification)
    }

    /// `NAME.csv` split by `NAME.train.idx` and `NAME.test.idx` (0-based data rows, one a line) in
    /// `directory`.
    public static func loadSplit(name: String, directory: String) throws -> (train: TabularData, test: TabularData) {
        let all = try load(csv: directory + "/" + name + ".csv")
        func indices(_ part: String) throws -> [Int] {
            let path = directory + "/" + name + "." + part + ".idx"
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { throw LoadError(description: "cannot read \(path)") }
            return try text.split(whereSeparator: \.isNewline).map { line in
                guard let i = Int(line.trimmingCharacters(in: .whitespaces)), i >= 0, i < all.rows else {
                    throw LoadError(description: "\(path): '\(line)' is not a row index below \(all.rows)")
                }
                return i
            }
        }
        let train = try indices("train"), test = try indices("test")
        guard Set(train).isDisjoint(with: test) else { throw LoadError(description: "\(name): training and test rows overlap") }
        return (all.rows(train), all.rows(test))
    }
}
