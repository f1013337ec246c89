import Testing
import Foundation
@testable import Infer
import Training
import ModelFile
import InferTools
import LowLevel
import MNIST

/// A digit of 28x28 bytes drawn onto a canvas: scaled by `scale` (bilinear), its top-left corner
/// at `origin`, ink dark on white when `light`.
struct DigitRendering: CustomStringConvertible {
    var name: String
    var scale: Double
    var canvas: (width: Int, height: Int)
    var origin: (x: Double, y: Double)
    var light: Bool
    var description: String { name }

    func render(_ digit: UnsafePointer<UInt8>) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: canvas.width * canvas.height)
        func source(_ i: Int, _ j: Int) -> Double { i >= 0 && i < 28 && j >= 0 && j < 28 ? Double(digit[i * 28 + j]) : 0 }
        for y in 0..<canvas.height {
            for x in 0..<canvas.width {
                let v = (Double(y) + 0.5 - origin.y) / scale - 0.5, u = (Double(x) + 0.5 - origin.x) / scale - 0.5
                let i0 = Int(v.rounded(.down)), j0 = Int(u.rounded(.down)), fy = v - Double(i0), fx = u - Double(j0)
                let top = source(i0, j0) * (1 - fx) + source(i0, j0 + 1) * fx
                let bottom = source(i0 + 1, j0) * (1 - fx) + source(i0 + 1, j0 + 1) * fx
                let ink = UInt8(max(0, min(255, (top * (1 - fy) + bottom * fy).rounded())))
                out[y * canvas.width + x] = light ? 255 - ink : ink
            }
        }
        return out
    }

    static let variants: [DigitRendering] = [
        DigitRendering(name: "inverted", scale: 1, canvas: (28, 28), origin: (0, 0), light: true),
        DigitRendering(name: "3x larger, off-centre, white canvas", scale: 3, canvas: (120, 100), origin: (9, 4), light: true),
        DigitRendering(name: "same size, off-centre on a 96x96 canvas", scale: 1, canvas: (96, 96), origin: (51, 7), light: false),
        DigitRendering(name: "1.7x larger, off-centre, 64x64 white canvas", scale: 1.7, canvas: (64, 64), origin: (2.3, 13.6), light: true),
    ]
}

@Suite struct DigitPreparationTests {
    /// Runs the MNIST preparation on `pixels` (a copy) into 784 floats.
    func prepared(_ pixels: [UInt8], width: Int, height: Int) -> [Float] {
        var image = pixels
        var out = [Float](repeating: -1, count: 784)
        let side = RuntimeModel.boxSide(height: 28, width: 28)
        var lines = [Float](repeating: 0, count: height * (side + 2))
        image.withUnsafeMutableBufferPointer { p in
            DigitPreparation.prepare(p.baseAddress!, width: width, height: height, into: &out, outHeight: 28, outWidth: 28,
                                     boxSide: side, rows: &lines)
        }
        return out
    }

    func sampleDigits() throws -> (pixels: [UInt8], labels: [UInt8], count: Int) {
        let sample = try MNISTDataset(directory: sampleDirectory).test
        return (sample.pixels, sample.labels, sample.count)
    }

    /// MNIST's own digits, inverted (black on white), come out of the preparation exactly as the
    /// digits themselves: they already are prepared.
    @Test func preparedDigitsComeOutUnchanged() throws {
        let (pixels, _, count) = try sampleDigits()
        var unchanged = 0
        for i in 0..<count {
            let digit = Array(pixels[(i * 784)..<((i + 1) * 784)])
            let out = prepared(digit.map { 255 - $0 }, width: 28, height: 28)
            if out == digit.map({ Float($0) * (1 / 255) }) { unchanged += 1 }
        }
        #expect(Double(unchanged) >= 0.95 * Double(count), "\(unchanged) of \(count) unchanged")
    }

    /// Drawn larger or off-centre on a bigger canvas, a digit prepares to nearly the same input:
    /// its centre of mass lands on the centre pixel (14.5, 14.5) to a tenth of a pixel, and the
    /// pixels stay within resampling blur of the same digit merely moved (which the preparation
    /// does not rescale: all MNIST digits span exactly 20 pixels).
    @Test(arguments: DigitRendering.variants.dropFirst()) func variantsPrepareToNearlyTheSameInput(_ rendering: DigitRendering) throws {
        let (pixels, _, count) = try sampleDigits()
        let moved = DigitRendering(name: "moved", scale: 1, canvas: (40, 40), origin: (3, 9), light: false)
        var totalError = 0.0, totalNorm = 0.0
        for i in 0..<min(count, 100) {
            let digit = Array(pixels[(i * 784)..<((i + 1) * 784)])
            let (image, reference) = digit.withUnsafeBufferPointer { (rendering.render($0.baseAddress!), moved.render($0.baseAddress!)) }
            let out = prepared(image, width: rendering.canvas.width, height: rendering.canvas.height)
            let expected = prepared(reference, width: 40, height: 40)
            var mass = 0.0, sx = 0.0, sy = 0.0
            for y in 0..<28 {
                for x in 0..<28 {
                    let v = Double(out[y * 28 + x]), e = Double(expected[y * 28 + x])
                    mass += v; sx += v * (Double(x) + 0.5); sy += v * (Double(y) + 0.5)
                    totalError += (v - e) * (v - e); totalNorm += e * e
                }
            }
            #expect(abs(sx / mass - 14.5) < 0.1 && abs(sy / mass - 14.5) < 0.1, "digit \(i): centre (\(sx / mass), \(sy / mass))")
        }
        let relative = (totalError / totalNorm).squareRoot()
        #expect(relative < (rendering.scale == 1 ? 1e-6 : 0.25), "\(rendering): relative error \(relative)")
    }

    /// A blank or nearly blank image gives an all-zero input, whatever its background.
    @Test func blankImagesGiveZeros() {
        for value: UInt8 in [0, 255, 128, 250] {
            #expect(prepared([UInt8](repeating: value, count: 40 * 30), width: 40, height: 30) == [Float](repeating: 0, count: 784))
        }
    }

    /// The target, with a network trained for one epoch on full MNIST: the first 2,000
    /// test digits through the preparation, in every rendering, score within one point of the
    /// same digits given as MNIST's own bytes, for the MLP and for LeNet.
    @Test(.enabled(if: mnistDirectory != nil), arguments: ["mlp", "lenet"])
    func accuracyThroughThePreparationMatchesPlainDigits(_ architecture: String) throws {
        let data = try MNISTDataset(directory: mnistDirectory!)
        BLAS.configure(threads: 1)
        let train = ClassificationSet(images: data.train)
        let spec: NetworkSpec = architecture == "mlp" ? .mlp(inputs: 784, hidden: [128], outputs: 10) : .lenet()
        let config = TrainingConfig(epochs: 1, batchSize: 64, learningRate: 0.05, schedule: .constant,
                                    optimizer: OptimizerConfig(kind: .momentum), seed: 11)
        let run = try TrainingRun(spec: spec, config: config, sampleCount: train.count)
        _ = try run.run(train: train, test: nil, measureTrainAccuracy: false)
        let model = try OpenModel(try ModelWriter.encode(network: run.network, inputShape: (1, 28, 28), inputEncoding: .pixels))
        let runtime = UnsafeMutablePointer<RuntimeModel>(model.handle)
        let n = 2000
        var plain = 0
        var through = [Int](repeating: 0, count: DigitRendering.variants.count)
        for i in 0..<n {
            let digit = Array(data.test.pixels[(i * 784)..<((i + 1) * 784)]), label = Int(data.test.labels[i])
            if Kernels.argmax(model.run(digit.map { Float($0) / 255 }).output, count: 10) == label { plain += 1 }
            for (v, rendering) in DigitRendering.variants.enumerated() {
                var image = digit.withUnsafeBufferPointer { rendering.render($0.baseAddress!) }
                let output = try image.withUnsafeMutableBufferPointer { p throws(InferStatus) in
                    try runtime.pointee.classifyGray(p.baseAddress!, width: rendering.canvas.width, height: rendering.canvas.height)
                }
                if Kernels.argmax(output, count: 10) == label { through[v] += 1 }
            }
        }
        for (v, rendering) in DigitRendering.variants.enumerated() {
            #expect(through[v] >= plain - n / 100, "\(architecture), \(rendering): \(through[v]) of \(n) against \(plain) plain")
        }
    }
}
