import Arena
import LowLevel

/// Max or average pooling over windows (no padding). Global average pooling is average pooling
/// with the whole plane as the window. Max pooling remembers where each maximum came from, for
/// the backward pass.
public final class Pool2D: Layer {
    public typealias Mode = Pooling.Mode
    public let mode: Mode
    public let input: Shape3
    public let output: Shape3
    public let spec: PoolSpec
    public let parameters: [Parameter] = []
    private let arena: ArenaAllocator
    /// For max pooling: the input index (within the sample) of each output's maximum.
    private let argmax: UnsafeMutableBufferPointer<Int32>?

    /// Set by `Network` when the ReLU before this max pool is fused (`NetworkSpec.reluIsFused`):
    /// the backward pass then also applies that ReLU's derivative, routing a gradient only to
    /// winners whose input (the ReLU's output) is positive.
    public internal(set) var routesOnlyToPositiveInputs = false

    public var inputCount: Int { input.count }
    public var outputCount: Int { output.count }
    public var summary: String {
        "\(mode == .max ? "MaxPool" : "AvgPool")(\(spec.windowHeight)x\(spec.windowWidth)/\(spec.strideY)x\(spec.strideX), \(input)→\(output))"
    }

    public init(_ mode: Mode, spec: PoolSpec, input: Shape3, arena: ArenaAllocator, maxBatch: Int) throws(ArenaError) {
        self.mode = mode
        self.spec = spec
        self.input = input
        output = spec.output(input: input)!
        self.arena = arena
        argmax = mode == .max ? try arena.allocate(Int32.self, count: maxBatch * output.count) : nil
    }

    static func arenaBytes(output: Shape3, maxBatch: Int, max: Bool) -> Int {
        max ? ArenaAllocator.footprint(of: Int32.self, count: maxBatch * output.count) : 0
    }

    public func forward(_ x: Matrix, into y: Matrix, training: Bool) {
        for n in 0..<x.rows {
            Pooling.forwardOne(mode, spec, input, output, x.row(n), into: y.row(n),
                            argmax: argmax.map { $0.baseAddress! + n * output.count })
        }
    }

    public func backward(input x: Matrix, output y: Matrix, outputGradient dy: Matrix, inputGradient dx: Matrix?) {
        guard let dx else { return }
        for n in 0..<dy.rows {
            Pooling.backwardOne(mode, spec, input, output, outputGradient: dy.row(n), into: dx.row(n),
                                argmax: argmax.map { UnsafePointer($0.baseAddress! + n * output.count) },
                                positiveInputs: routesOnlyToPositiveInputs ? UnsafePointer(x.row(n)) : nil)
        }
    }
}

/// Reinterprets C×H×W as a vector: a copy, since each layer owns its output buffer.
public final class Flatten: Layer {
    public let inputCount: Int
    public var outputCount: Int { inputCount }
    public let parameters: [Parameter] = []
    public var summary: String { "Flatten(\(inputCount))" }
    public init(count: Int) { inputCount = count }

    public func forward(_ x: Matrix, into y: Matrix, training: Bool) {
        y.base.update(from: x.base, count: x.count)
    }

    public func backward(input x: Matrix, output y: Matrix, outputGradient dy: Matrix, inputGradient dx: Matrix?) {
        dx?.base.update(from: dy.base, count: dy.count)
    }
}
