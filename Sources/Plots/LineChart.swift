/// A line chart of one or more series against a shared x axis (epochs, iterations), with a title,
/// axis labels, round ticks, grid lines and a legend; drawn by cairo and returned as PNG bytes.
public struct LineChart: Sendable {
    public struct Point: Sendable, Equatable {
        public var x: Double, y: Double
        public init(x: Double, y: Double) { (self.x, self.y) = (x, y) }
    }

    /// A named curve. Points that are not finite (a NaN loss) break the line instead of bending it.
    public struct Series: Sendable {
        public var name: String
        public var points: [Point]
        public init(name: String, points: [Point] = []) { (self.name, self.points) = (name, points) }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// The x values are whole numbers (no tick between two epochs).
    public var integerX = true
    public var width = 800
    public var height = 500

    public init(title: String, xLabel: String, yLabel: String, series: [Series] = []) {
        (self.title, self.xLabel, self.yLabel, self.series) = (title, xLabel, yLabel, series)
    }

    /// Where the data go on the image: the axes' scales and the plot area in pixels.
    public struct Frame: Sendable {
        public let x: AxisScale, y: AxisScale
        public let left: Double, right: Double, top: Double, bottom: Double

        /// The pixel a data point is drawn at (y grows downwards on the image).
        public func pixel(_ p: Point) -> (x: Double, y: Double) {
            (left + x.fraction(p.x) * (right - left), bottom - y.fraction(p.y) * (bottom - top))
        }
    }

    public var frame: Frame {
        let finite = series.flatMap(\.points).filter { $0.x.isFinite && $0.y.isFinite }
        let xs = finite.map(\.x), ys = finite.map(\.y)
        return Frame(x: AxisScale(covering: xs.min() ?? 0, xs.max() ?? 1, ticks: 8, integers: integerX),
                     y: AxisScale(covering: ys.min() ?? 0, ys.max() ?? 1, ticks: 6),
                     left: 84, right: Double(width) - 24, top: 48, bottom: Double(height) - 56)
    }

    /// Line colours, told apart in print too (a colour-blind-safe set).
    static let palette = [Color(red: 0.00, green: 0.45, blue: 0.70), Color(red: 0.90, green: 0.45, blue: 0.00),
                          Color(red: 0.00, green: 0.62, blue: 0.45), Color(red: 0.80, green: 0.20, blue: 0.35),
                          Color(red: 0.50, green: 0.35, blue: 0.65), Color(red: 0.35, green: 0.35, blue: 0.35)]

    public func png() throws(PlotError) -> [UInt8] {
        let canvas = try Canvas(width: width, height: height)
        let f = frame
        let grid = Color(red: 0.88, green: 0.88, blue: 0.88), axis = Color(red: 0.25, green: 0.25, blue: 0.25)
        canvas.text(title, x: Double(width) / 2, y: 24, size: 17, bold: true, anchor: .center)
        for t in f.x.ticks {
            let px = f.pixel(Point(x: t, y: f.y.lower)).x
            canvas.strokeLine([(px, f.top), (px, f.bottom)], grid)
            canvas.text(f.x.label(t), x: px, y: f.bottom + 16, size: 12, axis, anchor: .center)
        }
        for t in f.y.ticks {
            let py = f.pixel(Point(x: f.x.lower, y: t)).y
            canvas.strokeLine([(f.left, py), (f.right, py)], grid)
            canvas.text(f.y.label(t), x: f.left - 8, y: py, size: 12, axis, anchor: .trailing)
        }
        canvas.strokeRectangle(x: f.left, y: f.top, width: f.right - f.left, height: f.bottom - f.top, axis)
        canvas.text(xLabel, x: (f.left + f.right) / 2, y: Double(height) - 16, size: 14, anchor: .center)
        canvas.text(yLabel, x: 20, y: (f.top + f.bottom) / 2, size: 14, anchor: .center, angle: -Double.pi / 2)

        for (i, s) in series.enumerated() {
            let color = Self.palette[i % Self.palette.count]
            // Runs of finite points, each its own polyline.
            var run: [(x: Double, y: Double)] = []
            for p in s.points {
                if p.x.isFinite && p.y.isFinite { run.append(f.pixel(p)) } else { canvas.strokeLine(run, color, lineWidth: 2); run = [] }
            }
            canvas.strokeLine(run, color, lineWidth: 2)
            if s.points.count <= 60 {
                for p in s.points where p.x.isFinite && p.y.isFinite {
                    let q = f.pixel(p)
                    canvas.fillCircle(x: q.x, y: q.y, radius: 3.5, color)
                }
            }
        }
        drawLegend(on: canvas, f)
        return try canvas.png()
    }

    /// The legend in the top-right corner of the plot, or the bottom-right one when fewer points lie there.
    private func drawLegend(on canvas: Canvas, _ f: Frame) {
        guard !series.isEmpty else { return }
        let rowHeight = 20.0, size = 13.0
        let textWidth = series.map { canvas.textWidth($0.name, size: size) }.max() ?? 0
        let boxWidth = textWidth + 52, boxHeight = Double(series.count) * rowHeight + 10
        let x = f.right - boxWidth - 10
        func pointsInside(top: Double) -> Int {
            series.flatMap(\.points).filter { p in
                let q = f.pixel(p)
                return q.x >= x && q.x <= x + boxWidth && q.y >= top && q.y <= top + boxHeight
            }.count
        }
        let upper = f.top + 10, lower = f.bottom - boxHeight - 10
        let top = pointsInside(top: lower) < pointsInside(top: upper) ? lower : upper
        canvas.fillRectangle(x: x, y: top, width: boxWidth, height: boxHeight, .white)
        canvas.strokeRectangle(x: x, y: top, width: boxWidth, height: boxHeight, Color(red: 0.7, green: 0.7, blue: 0.7))
        for (i, s) in series.enumerated() {
            let color = Self.palette[i % Self.palette.count]
            let y = top + 5 + rowHeight * (Double(i) + 0.5)
            canvas.strokeLine([(x + 10, y), (x + 36, y)], color, lineWidth: 2)
            canvas.fillCircle(x: x + 23, y: y, radius: 3.5, color)
            canvas.text(s.name, x: x + 44, y: y, size: size)
        }
    }
}
