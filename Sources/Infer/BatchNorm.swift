import Arena
import LowLevel

/// Batch normalisation per channel (C×H×W input; a dense layer's output is C×1×1): in training,
/// x̂ = (x − μ_B)/√(σ²_B + ε) with the batch's mean and variance over samples and positions, and
/// y = γx̂ + β; running averages of μ and σ² (momentum 0.1, unbiased variance) are kept for
/// evaluation, where they replace the batch statistics. At export it folds into the preceding
/// convolution or dense layer.
public final class BatchNorm: Layer {
    public static let epsilon: Float = 1e-5
    public static let momentum: Float = 0.1

    public let shape: Shape3
    public let gamma: Parameter
    public let beta: Parameter
    public let parameters: [Parameter]
    public let runningMean: UnsafeMutableBufferPointer<Float>
    public let runningVariance: UnsafeMutableBufferPointer<Float>
    private let batchMean: UnsafeMutableBufferPointer<Float>
    private let batchInverseStd: UnsafeMutableBufferPointer<Float>
    private let arena: ArenaAllocator
    private let name: String

    public var inputCount: Int { shape.count }
    public var outputCount: Int { shape.count }
    public var summary: String { "BatchNorm(\(shape))" }
    public var buffers: [(name: String, values: UnsafeMutableBufferPointer<Float>)] {
        [("\(name).running_mean", runningMean), ("\(name).running_var", runningVariance)]
    }

    public init(shape: Shape3, name: String, arena: ArenaAllocator) throws(ArenaError) {
        self.shape = shape
        self.name = name
        self.arena = arena
        let c = shape.channels
        gamma = Parameter(name: "\(name).weight", shape: [c], value: try arena.allocateFloats(c),
                          gradient: try arena.allocateFloats(c), decays: false)
        beta = Parameter(name: "\(name).bias", shape: [c], value: try arena.allocateFloats(c),
                         gradient: try arena.allocateFloats(c), decays: false)
        parameters = [gamma, beta]
        runningMean = try arena.allocateFloats(c)
        runningVariance = try arena.allocateFloats(c)
        batchMean = try arena.allocateFloats(c)
        batchInverseStd = try arena.allocateFloats(c)
        gamma.value.initialize(repeating: 1)
        runningVariance.initialize(repeating: 1)
    }

    static func arenaBytes(channels: Int) -> Int { 8 * ArenaAllocator.footprint(of: Float.self, count: channels) }

    public func forward(_ x: Matrix, into y: Matrix, training: Bool) {
        let s = shape.spatial, batch = x.rows
        for c in 0..<shape.channels {
            var mean: Float, inverseStd: Float
            if training {
                let count = Float(batch * s)
                var sum: Float = 0
                for n in 0..<batch { sum += Kernels.sum(x.row(n) + c * s, count: s) }
                mean = sum / count
                var squares: Float = 0
                for n in 0..<batch {
                    let plane = x.row(n) + c * s
                    for i in 0..<s { let d = plane[i] - mean; squares += d * d }
                }
                let variance = squares / count
                inverseStd = 1 / (variance + Self.epsilon).squareRoot()
                batchMean[c] = mean
                batchInverseStd[c] = inverseStd
                let unbiased = count > 1 ? variance * count / (count - 1) : variance
                runningMean[c] += Self.momentum * (mean - runningMean[c])
                runningVariance[c] += Self.momentum * (unbiased - runningVariance[c])
            } else {
                mean = runningMean[c]
                inverseStd = 1 / (runningVariance[c] + Self.epsilon).squareRoot()
            }
            let scale = gamma.value[c] * inverseStd, shift = beta.value[c] - mean * scale
            for n in 0..<batch {
                let source = x.row(n) + c * s, target = y.row(n) + c * s
                for i in 0..<s { target[i] = source[i] * scale + shift }
            }
        }
    }

    public func backward(input x: Matrix, output y: Matrix, outputGradient dy: Matrix, inputGradient dx: Matrix?) {
        let s = shape.spatial, batch = x.rows, count = Float(batch * s)
        for c in 0..<shape.channels {
            let mean = batchMean[c], inverseStd = batchInverseStd[c]
            var sumDy: Float = 0, sumDyXhat: Float = 0
            for n in 0..<batch {
                let xs = x.row(n) + c * s, gs = dy.row(n) + c * s
                for i in 0..<s {
                    sumDy += gs[i]
                    sumDyXhat += gs[i] * (xs[i] - mean) * inverseStd
                }
            }
            gamma.gradient[c] = sumDyXhat
            beta.gradient[c] = sumDy
            guard let dx else { continue }
            let k = gamma.value[c] * inverseStd / count
            for n in 0..<batch {
                let xs = x.row(n) + c * s, gs = dy.row(n) + c * s, ds = dx.row(n) + c * s
                for i in 0..<s {
                    let xhat = (xs[i] - mean) * inverseStd
                    ds[i] = k * (count * gs[i] - sumDy - xhat * sumDyXhat)
                }
            }
        }
    }

    /// Per-channel y = scale·x + shift equivalent to this layer in evaluation mode.
    public func foldedAffine() -> (scale: [Float], shift: [Float]) {
        var scale = [Float](), shift = [Float]()
        for c in 0..<shape.channels {
            let k = gamma.value[c] / (runningVariance[c] + Self.epsilon).squareRoot()
            scale.append(k)
            shift.append(beta.value[c] - runningMean[c] * k)
        }
        return (scale, shift)
    }
}

/// Inverted dropout: in training each value is zeroed with probability `rate` and the rest scaled
/// by 1/(1 − rate), so evaluation is the identity. The random numbers come from the network's
/// dropout generator (saved in checkpoints), so runs are reproducible.
public final class Dropout: Layer {
    public let rate: Float
    public let inputCount: Int
    public var outputCount: Int { inputCount }
    public let parameters: [Parameter] = []
    private let mask: UnsafeMutableBufferPointer<Float>
    private let random: UnsafeMutablePointer<RandomGenerator>
    private let arena: ArenaAllocator
    public var summary: String { "Dropout(\(rate))" }

    public init(rate: Float, count: Int, maxBatch: Int, random: UnsafeMutablePointer<RandomGenerator>,
                arena: ArenaAllocator) throws(ArenaError) {
        precondition(rate >= 0 && rate < 1)
        self.rate = rate
        inputCount = count
        self.random = random
        self.arena = arena
        mask = try arena.allocateFloats(maxBatch * count)
    }

    static func arenaBytes(count: Int, maxBatch: Int, rate: Float) -> Int {
        ArenaAllocator.footprint(of: Float.self, count: maxBatch * count)
    }

    public func forward(_ x: Matrix, into y: Matrix, training: Bool) {
        guard training && rate > 0 else {
            y.base.update(from: x.base, count: x.count)
            return
        }
        let keep = 1 / (1 - rate)
        for i in 0..<x.count {
            let m: Float = random.pointee.nextUniform() < rate ? 0 : keep
            mask[i] = m
            y.base[i] = x.base[i] * m
        }
    }

    public func backward(input x: Matrix, output y: Matrix, outputGradient dy: Matrix, inputGradient dx: Matrix?) {
        guard let dx else { return }
        if rate == 0 { dx.base.update(from: dy.base, count: dy.count); return }
        Kernels.multiply(dy.base, mask.baseAddress!, into: dx.base, count: dy.count)
    }
}
