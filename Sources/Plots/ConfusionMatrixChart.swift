/// A confusion matrix as a picture: one row per true class, one column per predicted class, each
/// cell's count written in it and shaded by the row's share (so each row reads as where that class's
/// samples went), with every class's recall beside its row.
public struct ConfusionMatrixChart: Sendable {
    /// counts[true][predicted].
    public var counts: [[Int]]
    public var labels: [String]
    public var title: String

    /// Precondition-free: a ragged or empty matrix, or labels of another count, is an error from `png()`.
    public init(counts: [[Int]], labels: [String], title: String) {
        (self.counts, self.labels, self.title) = (counts, labels, title)
    }

    /// A matrix of `classes` × `classes` counts from paired true and predicted labels in 0..<classes.
    public static func counts(truth: [Int], predicted: [Int], classes: Int) -> [[Int]] {
        var m = [[Int]](repeating: [Int](repeating: 0, count: classes), count: classes)
        for (t, p) in zip(truth, predicted) where (0..<classes).contains(t) && (0..<classes).contains(p) { m[t][p] += 1 }
        return m
    }

    /// The side of one cell in pixels: large for a few classes, down to 16 for up to 100.
    var cell: Double { Double(max(16, min(56, 560 / max(counts.count, 1)))) }
    /// The image's size in pixels.
    public var size: (width: Int, height: Int) {
        let side = cell * Double(counts.count)
        return (Int(side) + 96 + 90, Int(side) + 64 + 60)
    }

    public func png() throws(PlotError) -> [UInt8] {
        let n = counts.count
        guard n > 0, n <= 100, counts.allSatisfy({ $0.count == n }), labels.count == n else {
            throw PlotError("a confusion matrix needs 1 to 100 classes, a square table of counts and one label per class "
                            + "(got \(n) rows, \(labels.count) labels)")
        }
        let (width, height) = size
        let canvas = try Canvas(width: width, height: height)
        let side = cell, left = 96.0, top = 64.0
        let dark = Color(red: 0.03, green: 0.19, blue: 0.42)
        let textSize = max(7, min(14, side * 0.3)), labelSize = max(8, min(13, side * 0.3))
        let total = counts.joined().reduce(0, +), correct = (0..<n).reduce(0) { $0 + counts[$1][$1] }
        let accuracy = total > 0 ? 100 * Double(correct) / Double(total) : 0
        canvas.text(title + ": " + String(format: "%.2f%% of %d correct", accuracy, total), x: Double(width) / 2, y: 22, size: 16,
                    bold: true, anchor: .center)
        for (t, row) in counts.enumerated() {
            let rowTotal = row.reduce(0, +)
            let y = top + Double(t) * side
            for (p, count) in row.enumerated() {
                let share = rowTotal > 0 ? Double(count) / Double(rowTotal) : 0
                let x = left + Double(p) * side
                canvas.fillRectangle(x: x, y: y, width: side, height: side, Color.white.mixed(with: dark, share))
                if count > 0 || n <= 20 {
                    canvas.text("\(count)", x: x + side / 2, y: y + side / 2, size: textSize, share > 0.5 ? .white : .black, anchor: .center)
                }
            }
            canvas.text(labels[t], x: left - 8, y: y + side / 2, size: labelSize, anchor: .trailing)
            let recall = rowTotal > 0 ? String(format: "%.1f%%", 100 * Double(row[t]) / Double(rowTotal)) : "–"
            canvas.text(recall, x: left + Double(n) * side + 8, y: y + side / 2, size: labelSize)
        }
        for p in 0..<n {
            canvas.text(labels[p], x: left + (Double(p) + 0.5) * side, y: top + Double(n) * side + 14, size: labelSize, anchor: .center)
        }
        let grid = Color(red: 0.75, green: 0.75, blue: 0.75)
        canvas.strokeRectangle(x: left, y: top, width: Double(n) * side, height: Double(n) * side, grid)
        canvas.text("predicted class", x: left + Double(n) * side / 2, y: Double(height) - 18, size: 14, anchor: .center)
        canvas.text("true class", x: 22, y: top + Double(n) * side / 2, size: 14, anchor: .center, angle: -Double.pi / 2)
        canvas.text("recall", x: left + Double(n) * side + 8, y: top - 12, size: labelSize, bold: true)
        return try canvas.png()
    }
}
