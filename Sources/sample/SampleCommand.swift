import ArgumentParser
import CPNG
import Foundation
import Generative
import Infer
import LowLevel
import MNIST
import ModelFile

/// `sample --model FILE`: draws digits from a generative model file through the runtime the C
/// interface runs (`infer_sample`), so the images are the C program's, byte for byte. Sample k
/// of a run uses seed `--seed` + k.
@main
struct Sample: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sample",
        abstract: "Draw samples from a generative model file (train --model gan --output).",
        discussion: """
        Sample k (0-based) uses seed S + k, the seed infer_sample and infer_sample_png take, so \
        `--each` writes the files a C program would write with those seeds. The same seeds give \
        the same images.
        """)

    @Option(help: "The model file.") var model: String
    @Option(help: "How many samples (default 64).") var count = 64
    @Option(help: "The first sample's seed (default 1).") var seed: UInt64 = 1
    @Option(help: "Write all samples as one PNG grid here (atomically).") var grid: String?
    @Option(help: "Write each sample as DIR/sample-NNNN.png (seed S + NNNN).") var each: String?
    @Option(help: "Judge the samples with this classifier (the project's LeNet: train --model lenet --output FILE): the inception score and the Fréchet distance of its penultimate features to MNIST's test digits, beside the same figures for 10,000 real training digits.")
    var score: String?
    @Option(help: "Models with an exact density (flows): log p of the first N MNIST test digits, each dequantised once as (pixel + u)/256 with u drawn from --seed, through the runtime's density (infer_log_density), reported as bits per dimension.")
    var density: Int?
    @Option(help: "MNIST directory for --score and --density (default: $MNIST_DIR).") var data: String?
    @Flag(help: "Print one JSON object describing what was written.") var json = false

    func validate() throws {
        guard count >= 1 && count <= 1_000_000 else { throw ValidationError("--count must be between 1 and 1000000, not \(count)") }
        guard grid != nil || each != nil || score != nil || density != nil else {
            throw ValidationError("say what to do with the samples: --grid FILE.png, --each DIR and/or --score CLASSIFIER (or --density N)")
        }
        if let density, density < 1 { throw ValidationError("--density takes a number of test digits, at least 1") }
        guard seed <= UInt64.max - UInt64(count) else { throw ValidationError("--seed + --count overflows") }
    }

    func run() throws {
        let generator: LoadedModel
        do { generator = try LoadedModel(path: model) } catch { throw ValidationError(error.description) }
        let file = generator.file, runtime = generator.runtime
        guard file.isGenerative, let (height, width) = RuntimeModel.sampleImageSize(file) else {
            throw ValidationError("\(model) is not a generative model whose samples are gray images (train one with --model gan)")
        }
        if let density {
            try evaluateDensity(runtime, file, digits: density)
            guard grid != nil || each != nil || score != nil else { return }
        }
        var scorer: SampleScorer? = nil
        if let score {
            do { scorer = try SampleScorer(classifier: score, data: data, imagePixels: height * width) } catch {
                throw ValidationError(error.description)
            }
        }
        if let each {
            do { try FileManager.default.createDirectory(atPath: each, withIntermediateDirectories: true) } catch {
                throw ValidationError("cannot create \(each): \(error)")
            }
        }
        // The grid: ⌈√count⌉ columns of tiles with a 2-pixel black gap.
        let columns = Int(Double(count).squareRoot().rounded(.up)), rows = (count + columns - 1) / columns, gap = 2
        let gridWidth = columns * width + (columns - 1) * gap, gridHeight = rows * height + (rows - 1) * gap
        if grid != nil && (gridWidth > 16384 || gridHeight > 16384) { throw ValidationError("a grid of \(count) samples is wider than 16384 pixels") }
        var pixels = [UInt8](repeating: 0, count: grid != nil ? gridWidth * gridHeight : 0)
        for k in 0..<count {
            let seed = self.seed + UInt64(k)
            if let each {
                let path = "\(each)/sample-\(String(format: "%04d", k)).png"
                do { try runtime.pointee.samplePNG(seed: seed, path: path) } catch {
                    throw ValidationError("cannot write \(path): \(String(cString: ErrorMessage.current))")
                }
            }
            guard grid != nil || scorer != nil else { continue }
            let image: UnsafeMutablePointer<Float>
            do { image = try runtime.pointee.sample(seed: seed) } catch { throw ValidationError(String(cString: ErrorMessage.current)) }
            scorer?.addSample(image)
            guard grid != nil else { continue }
            let top = (k / columns) * (height + gap), left = (k % columns) * (width + gap)
            for y in 0..<height {
                for x in 0..<width { pixels[(top + y) * gridWidth + left + x] = RuntimeModel.byte(image[y * width + x]) }
            }
        }
        if let grid { try Self.writeGray(pixels, width: gridWidth, height: gridHeight, to: grid) }
        if json {
            var object: [String: Any] = ["count": count, "first_seed": seed, "image": [height, width]]
            if let grid { object["grid"] = grid; object["grid_size"] = [gridHeight, gridWidth] }
            if let each { object["each"] = each }
            if let scorer { object.merge(scorer.report(), uniquingKeysWith: { a, _ in a }) }
            let text = try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            print(String(decoding: text, as: UTF8.self))
        } else {
            if let grid { FileHandle.standardError.write(Data("wrote \(grid): \(count) samples in \(rows)×\(columns) tiles (seeds \(seed)...\(seed + UInt64(count - 1)))\n".utf8)) }
            if let each { FileHandle.standardError.write(Data("wrote \(count) PNGs to \(each)\n".utf8)) }
            if let scorer { print(scorer.summary()) }
        }
    }

    /// `--density`: the mean −log p of test digits through the runtime, as bits per dimension.
    func evaluateDensity(_ runtime: UnsafeMutablePointer<RuntimeModel>, _ file: ModelFile, digits: Int) throws {
        guard file.graph?.density != nil else { throw ValidationError("\(model) has no exact density (only flows have one)") }
        guard let directory = SampleScorer.mnistDirectory(data) else {
            throw ValidationError("--density needs MNIST's test digits: --data DIR or MNIST_DIR")
        }
        let test: LabeledImages
        do { test = try MNISTDataset(directory: directory).test } catch { throw ValidationError("cannot read MNIST from \(directory): \(error)") }
        let n = test.pixelsPerImage, count = min(digits, test.count)
        guard n == file.inputLength else { throw ValidationError("MNIST's digits do not have the model's \(file.inputLength) pixels") }
        var random = RandomGenerator(seed: seed), x = [Float](repeating: 0, count: n), total = 0.0
        for i in 0..<count {
            for p in 0..<n { x[p] = (Float(test.pixels[i * n + p]) + random.nextUniform()) * (1 / 256) }
            do { total += try x.withUnsafeBufferPointer { try runtime.pointee.logDensity($0.baseAddress!) } } catch {
                throw ValidationError(String(cString: ErrorMessage.current))
            }
        }
        let nll = -total / Double(count), bits = FlowTrainer.bitsPerDimension(nll: nll, pixels: n)
        if json {
            let object: [String: Any] = ["count": count, "mean_log_density_nats": -nll, "bits_per_dim": bits, "seed": seed]
            print(String(decoding: try JSONSerialization.data(withJSONObject: object, options: [.sortedKeys]), as: UTF8.self))
        } else {
            print(String(format: "log density of %d test digits: %.4f bits per dimension (mean log p %.2f nats)", count, bits, -nll))
        }
    }

    /// An 8-bit gray PNG through the runtime's libpng writer (atomic).
    static func writeGray(_ pixels: [UInt8], width: Int, height: Int, to path: String) throws {
        let heapBytes = Int(CPNG_WRITE_HEAP_BYTES)
        let heapMemory = UnsafeMutablePointer<UInt8>.allocate(capacity: heapBytes), buffer = UnsafeMutablePointer<UInt8>.allocate(capacity: 65536)
        let rows = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>.allocate(capacity: height)
        defer { heapMemory.deallocate(); buffer.deallocate(); rows.deallocate() }
        var heap = cpng_heap(base: heapMemory, capacity: heapBytes, used: 0, high_water: 0, last_offset: 0)
        var result = cpng_result()
        let status = pixels.withUnsafeBufferPointer {
            cpng_encode_gray_file(path, $0.baseAddress, UInt32(width), UInt32(height), &heap, rows, buffer, 65536, &result)
        }
        guard status == CPNG_OK else {
            let message = withUnsafePointer(to: &result.message) { $0.withMemoryRebound(to: CChar.self, capacity: 200) { String(cString: $0) } }
            throw ValidationError("cannot write \(path): \(message)")
        }
    }
}
