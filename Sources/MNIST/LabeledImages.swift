#if canImport(Glibc)
import Glibc
#endif

/// Gray-scale images with a class label each, as MNIST stores them: `count` images of
/// `rows × columns` bytes, row-major, 0 = background.
public struct LabeledImages: Sendable {
    public let rows: Int
    public let columns: Int
    public let pixels: [UInt8]
    public let labels: [UInt8]

    public var count: Int { labels.count }
    public var pixelsPerImage: Int { rows * columns }

    public init(rows: Int, columns: Int, pixels: [UInt8], labels: [UInt8]) {
        precondition(pixels.count == rows * columns * labels.count)
        self.rows = rows
        self.columns = columns
        self.pixels = pixels
        self.labels = labels
    }

    /// Reads an image file and its label file and checks they agree.
    public init(imagesPath: String, labelsPath: String) throws(IDXError) {
        let images = try IDXFile.read(path: imagesPath, magic: IDXFile.imagesMagic)
        let labels = try IDXFile.read(path: labelsPath, magic: IDXFile.labelsMagic)
        guard images.dimensions[0] == labels.dimensions[0] else {
            throw .countMismatch(images: images.dimensions[0], labels: labels.dimensions[0],
                                 imagesPath: imagesPath, labelsPath: labelsPath)
        }
        if let bad = labels.data.firstIndex(where: { $0 > 9 }) {
            throw .badLabel(path: labelsPath, index: bad, value: labels.data[bad])
        }
        self.init(rows: images.dimensions[1], columns: images.dimensions[2],
                  pixels: images.data, labels: labels.data)
    }

    /// The first `n` images (all when n ≥ count).
    public func prefix(_ n: Int) -> LabeledImages {
        let k = min(n, count)
        return LabeledImages(rows: rows, columns: columns, pixels: Array(pixels[0..<(k * pixelsPerImage)]),
                             labels: Array(labels[0..<k]))
    }
}

/// The MNIST training and test sets from one directory.
public struct MNISTDataset: Sendable {
    public let train: LabeledImages
    public let test: LabeledImages

    public static let fileStems = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]

    /// Loads the four files from `directory`, each as NAME.gz or NAME.
    public init(directory: String) throws(IDXError) {
        var paths: [String] = []
        var tried: [String] = []
        for stem in Self.fileStems {
            let candidates = ["\(directory)/\(stem).gz", "\(directory)/\(stem)"]
            tried += candidates
            guard let found = candidates.first(where: { access($0, R_OK) == 0 }) else {
                throw .missingFiles(directory: directory, tried: tried.filter { access($0, R_OK) != 0 })
            }
            paths.append(found)
        }
        train = try LabeledImages(imagesPath: paths[0], labelsPath: paths[1])
        test = try LabeledImages(imagesPath: paths[2], labelsPath: paths[3])
        guard train.rows == test.rows, train.columns == test.columns else {
            throw .badDimensions(path: paths[2], dimensions: [test.count, test.rows, test.columns])
        }
    }

    public init(train: LabeledImages, test: LabeledImages) {
        self.train = train
        self.test = test
    }
}
