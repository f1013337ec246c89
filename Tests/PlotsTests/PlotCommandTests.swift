import Testing
import Foundation
import TestSupport
import ToolRunner
@testable import Plots

/// `train --plot DIR` and `export-tool verify --confusion FILE` through the built tools, on the
/// bundled sample of digits: the figures are PNG files of the promised size with the data in them.
@Suite struct PlotCommandTests {
    let sample = packageRoot.path + "/Sources/train/Resources/mnist-sample"

    func run(_ tool: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
        try ToolRunner.run(tool, packageRoot: packageRoot.path, binaryVariable: tool == "train" ? "TRAIN_BINARY" : "EXPORT_TOOL_BINARY",
                           arguments: arguments, environment: ["MNIST_DIR": nil])
    }

    func image(_ path: String) throws -> GrayImage {
        let bytes = try #require(FileManager.default.contents(atPath: path), "\(path) is missing")
        return try #require(GrayImage(png: [UInt8](bytes)), "\(path) does not decode")
    }

    @Test func trainingCurvesAndAConfusionMatrix() throws {
        let directory = NSTemporaryDirectory() + "plots-\(UUID().uuidString)"
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let r = try run("train", ["--epochs", "3", "--plot", directory + "/figures", "--output", directory + "/mlp.bin"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("figures: \(directory)/figures/loss.png, \(directory)/figures/accuracy.png"), "\(r.stderr)")
        for name in ["loss", "accuracy"] {
            let figure = try image(directory + "/figures/\(name).png")
            #expect(figure.width == 800 && figure.height == 500)
            #expect(figure.inkPixels(rows: 10..<38) > 200, "\(name).png has no title")
        }

        let v = try run("export-tool", ["verify", directory + "/mlp.bin", "--data", sample, "--confusion", directory + "/confusion.png"])
        #expect(v.status == 0, "\(v.stderr)")
        #expect(v.stderr.contains("confusion matrix: \(directory)/confusion.png"))
        let chart = ConfusionMatrixChart(counts: [[Int]](repeating: [Int](repeating: 0, count: 10), count: 10), labels: (0..<10).map(String.init), title: "")
        let matrix = try image(directory + "/confusion.png")
        #expect(matrix.width == chart.size.width && matrix.height == chart.size.height)
        // A trained classifier's diagonal is dark and its off-diagonal mostly light.
        func corner(_ t: Int, _ p: Int) -> UInt8 { matrix[96 + Int(chart.cell) * p + 3, 64 + Int(chart.cell) * t + 3] }
        let diagonal = (0..<10).map { corner($0, $0) }, off = (0..<10).map { corner($0, ($0 + 5) % 10) }
        #expect(diagonal.filter { $0 < 128 }.count >= 8, "\(diagonal)")
        #expect(off.filter { $0 > 200 }.count >= 8, "\(off)")
    }

    @Test func aGPTPlotsItsLossesPerEvaluation() throws {
        let directory = NSTemporaryDirectory() + "plots-gpt-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try String(repeating: "to be or not to be, that is the question. ", count: 60).write(toFile: directory + "/t.txt", atomically: true, encoding: .utf8)
        let r = try run("train", ["--model", "gpt", "--text", directory + "/t.txt", "--layers", "1", "--heads", "2", "--width", "16",
                                  "--context", "8", "--batch", "4", "--iters", "6", "--eval-every", "2", "--eval-iters", "1", "--plot", directory])
        #expect(r.status == 0, "\(r.stderr)")
        let figure = try image(directory + "/loss.png")
        #expect(figure.width == 800 && figure.height == 500)
        #expect(!FileManager.default.fileExists(atPath: directory + "/accuracy.png"))
    }

    @Test func modelsWithoutCurvesAndNonClassifiersAreRefused() throws {
        let r = try run("train", ["--model", "knn", "--plot", NSTemporaryDirectory() + "never"])
        #expect(r.status != 0 && r.stderr.contains("--plot draws the curves of models trained by epochs or iterations"), "\(r.stderr)")
        #expect(!FileManager.default.fileExists(atPath: NSTemporaryDirectory() + "never"))
        let blocked = NSTemporaryDirectory() + "plots-file-\(UUID().uuidString)"
        try Data("x".utf8).write(to: URL(fileURLWithPath: blocked))
        defer { try? FileManager.default.removeItem(atPath: blocked) }
        let f = try run("train", ["--epochs", "1", "--plot", blocked])
        #expect(f.status != 0 && f.stderr.contains("--plot: cannot create the directory \(blocked)"), "\(f.stderr)")
    }
}
