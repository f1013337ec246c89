import Testing
import Foundation
import MNIST
import Training
import ModelFile

/// Writes an IDX file (optionally gzipped through the system gzip) and returns its path.
private func writeIDX(_ directory: String, _ name: String, magic: UInt32, dims: [UInt32], data: [UInt8],
                      gzip: Bool = false, cut: Int = 0) throws -> String {
    var bytes: [UInt8] = []
    for word in [magic] + dims { bytes += [UInt8(word >> 24), UInt8((word >> 16) & 0xFF), UInt8((word >> 8) & 0xFF), UInt8(word & 0xFF)] }
    bytes += data
    bytes.removeLast(cut)
    let path = directory + "/" + name
    try Data(bytes).write(to: URL(fileURLWithPath: path))
    if gzip {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/gzip")
        process.arguments = ["-f", "-n", path]
        try process.run()
        process.waitUntilExit()
        return path + ".gz"
    }
    return path
}

@Suite struct IDXFileTests {
    @Test func readsPlainAndGzippedFilesAlike() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let pixels = (0..<(3 * 4 * 5)).map { UInt8($0) }
        let plain = try writeIDX(dir, "a", magic: IDXFile.imagesMagic, dims: [3, 4, 5], data: pixels)
        let zipped = try writeIDX(dir, "b", magic: IDXFile.imagesMagic, dims: [3, 4, 5], data: pixels, gzip: true)
        #expect(zipped.hasSuffix(".gz"))
        for path in [plain, zipped] {
            let file = try IDXFile.read(path: path, magic: IDXFile.imagesMagic)
            #expect(file.dimensions == [3, 4, 5])
            #expect(file.data == pixels)
        }
    }

    @Test func rejectsWrongMagic() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try writeIDX(dir, "labels", magic: IDXFile.labelsMagic, dims: [2], data: [1, 2])
        #expect(throws: IDXError.wrongMagic(path: path, found: 0x801, expected: 0x803)) {
            try IDXFile.read(path: path, magic: IDXFile.imagesMagic)
        }
        let message = "\(IDXError.wrongMagic(path: path, found: 0x801, expected: 0x803))"
        #expect(message.contains("00000801") && message.contains("00000803"))
    }

    @Test(arguments: [false, true]) func rejectsTruncatedData(gzip: Bool) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = try writeIDX(dir, "t", magic: IDXFile.imagesMagic, dims: [2, 3, 3], data: [UInt8](repeating: 7, count: 18),
                                gzip: gzip, cut: 5)
        #expect(throws: IDXError.truncated(path: path, expectedBytes: 18, gotBytes: 13)) {
            try IDXFile.read(path: path, magic: IDXFile.imagesMagic)
        }
        // Cut inside the header.
        let header = try writeIDX(dir, "h", magic: IDXFile.imagesMagic, dims: [2, 3, 3], data: [], gzip: gzip, cut: 6)
        #expect(throws: IDXError.self) { try IDXFile.read(path: header, magic: IDXFile.imagesMagic) }
    }

    @Test func rejectsTrailingDataAbsurdDimensionsAndMissingFiles() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let long = try writeIDX(dir, "l", magic: IDXFile.labelsMagic, dims: [2], data: [1, 2, 3])
        #expect(throws: IDXError.trailingData(path: long, expectedBytes: 2)) { try IDXFile.read(path: long, magic: IDXFile.labelsMagic) }
        let zero = try writeIDX(dir, "z", magic: IDXFile.imagesMagic, dims: [0, 28, 28], data: [])
        #expect(throws: IDXError.badDimensions(path: zero, dimensions: [0, 28, 28])) { try IDXFile.read(path: zero, magic: IDXFile.imagesMagic) }
        let huge = try writeIDX(dir, "x", magic: IDXFile.imagesMagic, dims: [0x7FFF_FFF0, 0x7FFF_FFF0, 28], data: [])
        #expect(throws: IDXError.self) { try IDXFile.read(path: huge, magic: IDXFile.imagesMagic) }
        #expect(throws: IDXError.self) { try IDXFile.read(path: dir + "/absent", magic: IDXFile.imagesMagic) }
    }

    @Test func rejectsImageAndLabelCountsThatDisagree() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let images = try writeIDX(dir, "i", magic: IDXFile.imagesMagic, dims: [3, 2, 2], data: [UInt8](repeating: 0, count: 12))
        let labels = try writeIDX(dir, "l", magic: IDXFile.labelsMagic, dims: [2], data: [1, 2])
        #expect(throws: IDXError.countMismatch(images: 3, labels: 2, imagesPath: images, labelsPath: labels)) {
            try LabeledImages(imagesPath: images, labelsPath: labels)
        }
        let badLabels = try writeIDX(dir, "b", magic: IDXFile.labelsMagic, dims: [3], data: [1, 12, 2])
        #expect(throws: IDXError.badLabel(path: badLabels, index: 1, value: 12)) {
            try LabeledImages(imagesPath: images, labelsPath: badLabels)
        }
    }

    @Test func directoryLoadingNamesWhatWasMissing() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        do {
            _ = try MNISTDataset(directory: dir)
            Issue.record("an empty directory should not load")
        } catch {
            #expect("\(error)".contains("train-images-idx3-ubyte.gz"))
            #expect("\(error)".contains(dir))
        }
        let sample = try loadSample()
        #expect(sample.train.count == 1000 && sample.test.count == 200)
        #expect(Array(sample.train.labels.prefix(10)) == [5, 0, 4, 1, 9, 2, 1, 3, 1, 4])
    }
}
