import Testing
@testable import Plots

@Suite struct ChartTests {
    func lossChart() -> LineChart {
        var chart = LineChart(title: "loss per epoch", xLabel: "epoch", yLabel: "loss")
        chart.series = [LineChart.Series(name: "train", points: (1...10).map { .init(x: Double($0), y: 2 / Double($0)) }),
                        LineChart.Series(name: "test", points: (1...10).map { .init(x: Double($0), y: 2.2 / Double($0) + 0.05) })]
        return chart
    }

    @Test func aLineChartIsAPNGWithTheLinesWhereTheDataAre() throws {
        let chart = lossChart()
        let image = try #require(GrayImage(png: try chart.png()))
        #expect(image.width == 800 && image.height == 500)
        let frame = chart.frame
        #expect(frame.x.lower == 1 && frame.x.upper == 10 && frame.y.lower <= 0.2 && frame.y.upper >= 2.25)
        // Ink on every data point of both series (the markers), none well away from the curves.
        for s in chart.series { for p in s.points {
            let q = frame.pixel(p)
            #expect(image.darkest(nearX: q.x, y: q.y) < 160, "no marker at \(p)")
        } }
        let empty = frame.pixel(.init(x: 9, y: 1.6))
        #expect(image.darkest(nearX: empty.x + 7, y: empty.y + 7, radius: 3) > 200)
        // Text: the title's band and the axis labels have ink.
        #expect(image.inkPixels(rows: 10..<38) > 200)
        #expect(image.inkPixels(rows: (image.height - 30)..<image.height) > 50)
    }

    @Test func nonFiniteValuesBreakTheLineAndDoNotFailTheFigure() throws {
        var chart = lossChart()
        chart.series[0].points[4].y = .nan
        chart.series[1].points[2].y = .infinity
        chart.series.append(LineChart.Series(name: "all NaN", points: [.init(x: 1, y: .nan)]))
        let image = try #require(GrayImage(png: try chart.png()))
        #expect(image.width == 800)
        let frame = chart.frame
        #expect(frame.y.upper < 10, "the infinite value must not stretch the axis")
        // Between epochs 4 and 6 of the train series there is no line through epoch 5's missing value.
        let gap = frame.pixel(.init(x: 5, y: (2.0 / 4 + 2.0 / 6) / 2))
        #expect(image.darkest(nearX: gap.x, y: gap.y, radius: 1) > 150)
        let empty = LineChart(title: "nothing yet", xLabel: "x", yLabel: "y")
        #expect(GrayImage(png: try empty.png()) != nil)
    }

    @Test func aConfusionMatrixShadesEachRowByItsShare() throws {
        let truth = [0, 0, 0, 0, 1, 1, 1, 2, 2, 2], predicted = [0, 0, 0, 1, 1, 1, 1, 2, 0, 2]
        let counts = ConfusionMatrixChart.counts(truth: truth, predicted: predicted, classes: 3)
        #expect(counts == [[3, 1, 0], [0, 3, 0], [1, 0, 2]])
        let chart = ConfusionMatrixChart(counts: counts, labels: ["0", "1", "2"], title: "test")
        let image = try #require(GrayImage(png: try chart.png()))
        #expect(image.width == chart.size.width && image.height == chart.size.height)
        // A cell's corner (clear of its number) is as dark as its share of the row.
        func corner(_ t: Int, _ p: Int) -> UInt8 { image[96 + Int(chart.cell) * p + 3, 64 + Int(chart.cell) * t + 3] }
        #expect(corner(1, 1) < 60)                   // 3 of 3
        #expect(corner(0, 0) < corner(2, 2))         // 3/4 darker than 2/3
        #expect(corner(2, 2) < corner(0, 1))         // 2/3 darker than 1/4
        #expect(corner(0, 2) > 245 && corner(1, 0) > 245)
        #expect(image.inkPixels(rows: 8..<36) > 200) // the title with the accuracy
    }

    @Test func aMalformedMatrixIsAnError() {
        #expect(throws: PlotError.self) { try ConfusionMatrixChart(counts: [[1, 2], [3]], labels: ["a", "b"], title: "t").png() }
        #expect(throws: PlotError.self) { try ConfusionMatrixChart(counts: [[1]], labels: ["a", "b"], title: "t").png() }
        #expect(throws: PlotError.self) { try ConfusionMatrixChart(counts: [], labels: [], title: "t").png() }
        var huge = LineChart(title: "t", xLabel: "x", yLabel: "y"); huge.width = 100_000
        #expect(throws: PlotError.self) { try huge.png() }
    }
}
