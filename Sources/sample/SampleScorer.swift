import Foundation
import Generative
import Infer
import MNIST
import ModelFile

/// Scores samples with a classifier file: each image goes through the classifier as pixels in
/// [0, 1] (as its training digits did), its probabilities feed the inception score and the input
/// of its final dense layer the Fréchet distance to MNIST's 10,000 test digits. The reference is the
/// same two figures for the first 10,000 training digits.
struct SampleScorer {
    let classifier: LoadedModel
    let dataset: MNISTDataset
    private(set) var samples: SampleStatistics
    let imagePixels: Int

    init(classifier path: String, data: String?, imagePixels: Int) throws(ToolFailure) {
        classifier = try LoadedModel(path: path)
        let file = classifier.file
        guard file.outputKind == .probabilities, file.inputLength == imagePixels, !file.isGenerative else {
            throw ToolFailure("\(path) must be a classifier with probabilities over images of the samples' \(imagePixels) pixels (train --model lenet --output FILE)")
        }
        let zeros = [Float](repeating: 0, count: imagePixels), runtime = classifier.runtime
        _ = zeros.withUnsafeBufferPointer { runtime.pointee.run($0.baseAddress!) }
        guard let features = classifier.runtime.pointee.finalDenseInput else {
            throw ToolFailure("\(path) does not end in a dense layer, whose input would be the features")
        }
        guard let directory = Self.mnistDirectory(data) else {
            throw ToolFailure("--score needs MNIST for its reference figures: --data DIR or MNIST_DIR")
        }
        do { dataset = try MNISTDataset(directory: directory) } catch { throw ToolFailure("cannot read MNIST from \(directory): \(error)") }
        guard dataset.train.pixelsPerImage == imagePixels else { throw ToolFailure("MNIST's digits do not have the samples' \(imagePixels) pixels") }
        samples = SampleStatistics(dimension: features.count, classes: file.outputLength)
        self.imagePixels = imagePixels
    }

    /// The MNIST directory: `--data`, else a non-empty `MNIST_DIR`.
    static func mnistDirectory(_ data: String?) -> String? {
        data ?? ProcessInfo.processInfo.environment["MNIST_DIR"].flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The classifier's statistics of `image` (pixels in [0, 1]) into `statistics`.
    private func add(_ image: UnsafePointer<Float>, to statistics: inout SampleStatistics) {
        let runtime = classifier.runtime
        let probabilities = runtime.pointee.run(image)
        statistics.add(features: runtime.pointee.finalDenseInput!.values, probabilities: probabilities)
    }

    mutating func addSample(_ image: UnsafePointer<Float>) {
        var statistics = samples
        add(image, to: &statistics)
        samples = statistics
    }

    /// Statistics of the first `count` digits of `images`.
    private func statistics(of images: LabeledImages, count: Int) -> SampleStatistics {
        var statistics = SampleStatistics(dimension: samples.dimension, classes: samples.classes)
        var buffer = [Float](repeating: 0, count: imagePixels)
        for i in 0..<min(count, images.count) {
            for p in 0..<imagePixels { buffer[p] = Float(images.pixels[i * imagePixels + p]) * (1 / 255) }
            add(buffer, to: &statistics)
        }
        return statistics
    }

    /// The figures: samples' and real digits' inception scores and Fréchet distances to the test digits.
    func figures() -> (sampleScore: Double, sampleDistance: Double?, realScore: Double, realDistance: Double?, realCount: Int) {
        let test = statistics(of: dataset.test, count: 10_000), real = statistics(of: dataset.train, count: 10_000)
        return (samples.inceptionScore, SampleStatistics.frechetDistance(samples, test), real.inceptionScore,
                SampleStatistics.frechetDistance(real, test), real.count)
    }

    func report() -> [String: Any] {
        let f = figures()
        return ["inception_score": f.sampleScore, "frechet_distance": f.sampleDistance ?? NSNull(),
                "real_inception_score": f.realScore, "real_frechet_distance": f.realDistance ?? NSNull(), "real_count": f.realCount,
                "scored": samples.count, "predicted_counts": samples.predictedCounts]
    }

    func summary() -> String {
        let f = figures()
        func text(_ d: Double?) -> String { d.map { String(format: "%.3f", $0) } ?? "n/a" }
        return String(format: "%d samples: inception score %.3f, Fréchet distance to the test digits %@\n", samples.count, f.sampleScore, text(f.sampleDistance))
            + "classified as " + samples.predictedCounts.enumerated().map { "\($0.offset): \($0.element)" }.joined(separator: ", ") + "\n"
            + String(format: "%d real training digits (reference): inception score %.3f, Fréchet distance %@", f.realCount, f.realScore, text(f.realDistance))
    }
}
