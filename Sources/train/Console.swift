import Foundation
import Infer
import Training
import ModelFile
import InferTools

/// Progress and messages on stderr, so stdout carries only results (the --json object).
/// Draws a progress bar when stderr is a terminal and plain lines otherwise.
struct Console {
    let quiet: Bool
    let isTerminal = isatty(STDERR_FILENO) != 0
    /// The epoch report and the progress bar are built here, allocation-free (`TextLine`).
    private let lineStorage = UnsafeMutablePointer<UInt8>.allocate(capacity: TextLine.capacity)

    func line(_ text: String) {
        guard !quiet else { return }
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    func progress(_ p: EpochProgress, epochs: Int) {
        guard !quiet, isTerminal else { return }
        let width = 30
        let filled = p.step * width / max(p.stepsInEpoch, 1)
        var text = TextLine(storage: lineStorage)
        text.append("\repoch "); text.append(p.epoch + 1); text.append("/"); text.append(epochs); text.append(" |")
        for i in 0..<width { if i < filled { text.append("█") } else { text.append("·") } }
        text.append("| "); text.append(p.step); text.append("/"); text.append(p.stepsInEpoch)
        text.append(" loss "); text.append(Double(p.meanLoss), decimals: 4)
        text.write(to: STDERR_FILENO)
    }

    func epochDone(_ r: EpochReport, epochs: Int) {
        guard !quiet else { return }
        var text = TextLine(storage: lineStorage)
        if isTerminal { text.append("\r\u{1B}[K") }
        text.append("epoch "); text.append(r.result.epoch); text.append("/"); text.append(epochs)
        text.append(": loss "); text.append(Double(r.result.meanLoss), decimals: 4)
        // Regression networks have no accuracy (NaN): their test loss is the figure to show.
        if let a = r.trainAccuracy, !a.isNaN { text.append(", train "); text.append(a * 100, decimals: 2); text.append("%") }
        if let a = r.testAccuracy, !a.isNaN { text.append(", test "); text.append(a * 100, decimals: 2); text.append("%") }
        else if let loss = r.testLoss { text.append(", test loss "); text.append(loss, decimals: 4) }
        if let v = r.validationLoss {
            text.append(", validation loss "); text.append(v, decimals: 4)
            if let best = r.bestEpoch { text.append(" (best epoch "); text.append(best); text.append(")") }
        }
        text.append(", "); text.append(Double(r.result.samples) / r.result.seconds, decimals: 0)
        text.append(" samples/s, lr "); text.append(significant: Double(r.result.learningRate), digits: 6)
        text.append("\n")
        text.write(to: STDERR_FILENO)
    }
}

extension Console {
    /// Encodes a model and writes it to `path` atomically, saying so; any failure becomes the
    /// command's error.
    func writeModel(to path: String, what: String, _ encode: () throws -> [UInt8]) throws {
        do {
            let bytes = try encode()
            try AtomicFile.write(bytes, to: path)
            line("wrote \(path): \(bytes.count) bytes (\(what))")
        } catch { throw CommandFailure("cannot write \(path): \(error)") }
    }
}

/// A command's failure with its message (ArgumentParser prints it).
struct CommandFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}

