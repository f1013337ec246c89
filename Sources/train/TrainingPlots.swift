import Foundation
import ModelFile
import Plots

/// `train --plot DIR`: the run's curves as PNG figures (loss.png, and accuracy.png for
/// classifiers), rewritten atomically after every epoch or evaluation, so a long run can be
/// watched and a stopped one keeps its figures up to its last epoch.
final class TrainingPlots {
    /// The models whose training has curves to draw: epochs or evaluation steps with a loss.
    static let models = ["mlp", "lenet", "custom", "gpt", "vit", "gan", "flow", "diffusion", "logistic", "softmax", "svm"]

    let directory: String
    private var charts: [(file: String, chart: LineChart)] = []

    /// Creates `directory` (and its parents) when missing.
    init(directory: String) throws {
        do { try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true) } catch {
            throw CommandFailure("--plot: cannot create the directory \(directory): \(error.localizedDescription)")
        }
        self.directory = directory
    }

    /// Adds (x, y) to the series `series` of the figure `file`, which gets `title` and the axis
    /// labels when it is new. Skips a value that is nil.
    func add(_ file: String, title: String, x xLabel: String, y yLabel: String, series: String, _ x: Double, _ y: Double?) {
        guard let y else { return }
        let index = charts.firstIndex { $0.file == file } ?? {
            charts.append((file, LineChart(title: title, xLabel: xLabel, yLabel: yLabel)))
            return charts.count - 1
        }()
        let s = charts[index].chart.series.firstIndex { $0.name == series } ?? {
            charts[index].chart.series.append(LineChart.Series(name: series))
            return charts[index].chart.series.count - 1
        }()
        charts[index].chart.series[s].points.append(.init(x: x, y: y))
    }

    /// Writes every figure that has a finite value.
    func write() throws {
        for (file, chart) in charts where chart.series.contains(where: { $0.points.contains { $0.y.isFinite } }) {
            let path = (directory as NSString).appendingPathComponent(file)
            do { try AtomicFile.write(try chart.png(), to: path) } catch {
                throw CommandFailure("--plot: cannot write \(path): \(error)")
            }
        }
    }

    private var warned = false
    /// Writes the figures during training: a failure is said once and training goes on (the
    /// closing `write()` reports it as the command's error, after the model file is written).
    func update(_ console: Console) {
        do { try write() } catch {
            if !warned { console.line("warning: \(error); training goes on") }
            warned = true
        }
    }

    /// The files written, for the closing line.
    var files: [String] {
        charts.filter { c in c.chart.series.contains { $0.points.contains { $0.y.isFinite } } }
              .map { (directory as NSString).appendingPathComponent($0.file) }
    }
}

extension Console {
    /// Says where the figures went.
    func plotsWritten(_ plots: TrainingPlots?) {
        guard let plots, !plots.files.isEmpty else { return }
        line("figures: " + plots.files.joined(separator: ", "))
    }
}
