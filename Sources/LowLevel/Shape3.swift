/// The shape of one sample: channels × height × width, stored channel-major (NCHW without the N).
/// Feature vectors are `n × 1 × 1`.
public struct Shape3: Codable, Sendable, Equatable, CustomStringConvertible {
    public var channels: Int
    public var height: Int
    public var width: Int

    public init(channels: Int, height: Int, width: Int) {
        self.channels = channels
        self.height = height
        self.width = width
    }

    /// A feature vector of `n` values.
    public static func vector(_ n: Int) -> Shape3 { Shape3(channels: n, height: 1, width: 1) }

    public var count: Int { channels * height * width }
    public var spatial: Int { height * width }
    public var isValid: Bool { channels > 0 && height > 0 && width > 0 && count <= 1 << 28 }
    public var description: String { "\(channels)x\(height)x\(width)" }
}

/// Hyper-parameters of a 2-D convolution.
public struct Conv2DSpec: Codable, Sendable, Equatable {
    public var filters: Int
    public var kernelHeight: Int
    public var kernelWidth: Int
    public var strideY: Int
    public var strideX: Int
    public var padY: Int
    public var padX: Int
    /// "Same" padding: output = ⌈input / stride⌉, the padding split evenly (extra on the bottom/right);
    /// padY and padX are then ignored.
    public var same: Bool

    public init(filters: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0), same: Bool = false) {
        self.filters = filters
        kernelHeight = kernel.0; kernelWidth = kernel.1
        strideY = stride.0; strideX = stride.1
        padY = padding.0; padX = padding.1
        self.same = same
    }

    /// Where the window starts (top/left padding) and the output size, or nil when impossible.
    /// Explicit padding: output = ⌊1 + (m + 2p − a)/s⌋.
    public func geometry(input: Shape3) -> ConvGeometry? {
        guard filters > 0, kernelHeight > 0, kernelWidth > 0, strideY > 0, strideX > 0, padY >= 0, padX >= 0 else { return nil }
        let outH: Int, outW: Int, top: Int, left: Int
        if same {
            outH = (input.height + strideY - 1) / strideY
            outW = (input.width + strideX - 1) / strideX
            top = max((outH - 1) * strideY + kernelHeight - input.height, 0) / 2
            left = max((outW - 1) * strideX + kernelWidth - input.width, 0) / 2
        } else {
            guard input.height + 2 * padY >= kernelHeight, input.width + 2 * padX >= kernelWidth else { return nil }
            outH = 1 + (input.height + 2 * padY - kernelHeight) / strideY
            outW = 1 + (input.width + 2 * padX - kernelWidth) / strideX
            top = padY; left = padX
        }
        let output = Shape3(channels: filters, height: outH, width: outW)
        guard output.isValid else { return nil }
        return ConvGeometry(input: input, output: output, kernelHeight: kernelHeight, kernelWidth: kernelWidth,
                            strideY: strideY, strideX: strideX, padTop: top, padLeft: left)
    }
}

/// A convolution's resolved sizes.
public struct ConvGeometry: Sendable, Equatable {
    public let input: Shape3
    public let output: Shape3
    public let kernelHeight: Int
    public let kernelWidth: Int
    public let strideY: Int
    public let strideX: Int
    public let padTop: Int
    public let padLeft: Int

    public init(input: Shape3, output: Shape3, kernelHeight: Int, kernelWidth: Int, strideY: Int, strideX: Int,
                padTop: Int, padLeft: Int) {
        self.input = input
        self.output = output
        self.kernelHeight = kernelHeight
        self.kernelWidth = kernelWidth
        self.strideY = strideY
        self.strideX = strideX
        self.padTop = padTop
        self.padLeft = padLeft
    }
    /// Rows of the im2col matrix: input channels × kernel area.
    public var patch: Int { input.channels * kernelHeight * kernelWidth }
    /// Columns of the im2col matrix: output positions.
    public var positions: Int { output.spatial }
}

/// Hyper-parameters of a pooling window (no padding).
public struct PoolSpec: Codable, Sendable, Equatable {
    public var windowHeight: Int
    public var windowWidth: Int
    public var strideY: Int
    public var strideX: Int

    public init(window: (Int, Int), stride: (Int, Int)? = nil) {
        windowHeight = window.0; windowWidth = window.1
        strideY = stride?.0 ?? window.0; strideX = stride?.1 ?? window.1
    }

    public func output(input: Shape3) -> Shape3? {
        guard windowHeight > 0, windowWidth > 0, strideY > 0, strideX > 0,
              input.height >= windowHeight, input.width >= windowWidth else { return nil }
        return Shape3(channels: input.channels, height: 1 + (input.height - windowHeight) / strideY,
                      width: 1 + (input.width - windowWidth) / strideX)
    }
}
