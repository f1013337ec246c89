import Foundation
import Infer
import InferTools

/// Progress and messages on stderr, so stdout carries only results (the --json object).
/// Draws a progress bar when stderr is a terminal and plain lines otherwise.
struct Console {
    let quiet: Bool
    let isTerminal = isatty(STDERR_FILENO) != 0

    func line(_ text: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    func progress(_ p: EpochProgress, epochs: Int) {
        guard !quiet, isTerminal else { return }
        let width = 30
        let filled = p.step * width / max(p.stepsInEpoch, 1)
        let bar = String(repeating: "█", count: filled) + String(repeating: "·", count: width - filled)
        let text = String(format: "\repoch %d/%d |%@| %d/%d loss %.4f", p.epoch + 1, epochs, bar, p.step,
                          p.stepsInEpoch, p.meanLoss)
        FileHandle.standardError.write(Data(text.utf8))
    }

    func epochDone(_ r: EpochReport, epochs: Int) {
        guard !quiet else { return }
        if isTerminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) }
        var text = String(format: "epoch %d/%d: loss %.4f", r.result.epoch, epochs, r.result.meanLoss)
        if let a = r.trainAccuracy { text += String(format: ", train %.2f%%", a * 100) }
        if let a = r.testAccuracy { text += String(format: ", test %.2f%%", a * 100) }
        text += String(format: ", %.0f samples/s, lr %g", Double(r.result.samples) / r.result.seconds, r.result.learningRate)
        line(text)
    }
}
