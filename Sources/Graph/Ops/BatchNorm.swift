import LowLevel

/// Batch normalisation per channel of x [batch, C, H, W] (or [batch, C] after a dense layer), with
/// γ, β [C] (parameters) and the running mean and variance [C] (state, updated in training).
///
/// Training: x̂ = (x − μ_B)/√(σ²_B + ε) with the batch's mean and variance over samples and
/// positions, y = γx̂ + β, and the running averages move by momentum 0.1 towards μ_B and the
/// unbiased σ²_B. Evaluation uses the running averages instead. Backward follows a training pass.
enum BatchNorm: Operator {
    static let epsilon = BatchNormalization.epsilon
    static let momentum = BatchNormalization.momentum

    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 5 else { throw ShapeError("takes x, γ, β, running mean and running variance, got \(inputs.count) inputs") }
        let x = inputs[0]
        guard x.element == .float32, x.isBatched, x.shape.count == 1 || x.shape.count == 3 else {
            throw ShapeError("x must be float32 [batch, C] or [batch, C, H, W]")
        }
        for t in inputs[1...] where t != TensorType([x.shape[0]], batched: false) {
            throw ShapeError("γ, β and the running statistics must be [\(x.shape[0])]")
        }
        return [x]
    }

    static func buffers(inputs: [TensorType], outputs: [TensorType], attributes: Attributes, maxBatch: Int) -> [BufferRequest] {
        [.floats(.saved, 2 * inputs[0].shape[0])] // the batch's mean and 1/σ per channel
    }

    static var overwritesGradients: Bool { true }

    static func forward(_ node: NodeRun) {
        let shape = node.inputTypes[0].shape, channels = shape[0], s = shape.dropFirst().reduce(1, *), batch = node.rows
        let x = node.input(0), gamma = node.input(1), beta = node.input(2)
        let runningMean = node.input(3), runningVariance = node.input(4), y = node.output(0)
        let batchMean = node.floatBuffer(0), batchInverseStd = batchMean + channels
        let sample = channels * s
        for c in 0..<channels {
            var mean: Float, inverseStd: Float
            if node.isTraining {
                let count = Float(batch * s)
                var sum: Float = 0
                for n in 0..<batch { sum += Kernels.sum(x + n * sample + c * s, count: s) }
                mean = sum / count
                var squares: Float = 0
                for n in 0..<batch {
                    let plane = x + n * sample + c * s
                    for i in 0..<s { let d = plane[i] - mean; squares += d * d }
                }
                let variance = squares / count
                inverseStd = 1 / (variance + epsilon).squareRoot()
                batchMean[c] = mean
                batchInverseStd[c] = inverseStd
                let unbiased = count > 1 ? variance * count / (count - 1) : variance
                runningMean[c] += momentum * (mean - runningMean[c])
                runningVariance[c] += momentum * (unbiased - runningVariance[c])
            } else {
                mean = runningMean[c]
                inverseStd = 1 / (runningVariance[c] + epsilon).squareRoot()
            }
            let scale = gamma[c] * inverseStd, shift = beta[c] - mean * scale
            for n in 0..<batch {
                let source = x + n * sample + c * s, target = y + n * sample + c * s
                for i in 0..<s { target[i] = source[i] * scale + shift }
            }
        }
    }

    static func backward(_ node: NodeRun) {
        guard let dy = node.outputGradient(0) else { return }
        let shape = node.inputTypes[0].shape, channels = shape[0], s = shape.dropFirst().reduce(1, *), batch = node.rows
        let x = node.input(0), gamma = node.input(1), sample = channels * s, count = Float(batch * s)
        let batchMean = node.floatBuffer(0), batchInverseStd = batchMean + channels
        let dx = node.inputGradient(0), dgamma = node.inputGradient(1), dbeta = node.inputGradient(2)
        for c in 0..<channels {
            let mean = batchMean[c], inverseStd = batchInverseStd[c]
            var sumDy: Float = 0, sumDyXhat: Float = 0
            for n in 0..<batch {
                let xs = x + n * sample + c * s, gs = dy + n * sample + c * s
                for i in 0..<s {
                    sumDy += gs[i]
                    sumDyXhat += gs[i] * (xs[i] - mean) * inverseStd
                }
            }
            if let dgamma { dgamma[c] = node.overwrites(1) ? sumDyXhat : dgamma[c] + sumDyXhat }
            if let dbeta { dbeta[c] = node.overwrites(2) ? sumDy : dbeta[c] + sumDy }
            guard let dx else { continue }
            let k = gamma[c] * inverseStd / count, overwrite = node.overwrites(0)
            for n in 0..<batch {
                let xs = x + n * sample + c * s, gs = dy + n * sample + c * s, ds = dx + n * sample + c * s
                for i in 0..<s {
                    let xhat = (xs[i] - mean) * inverseStd
                    let g = k * (count * gs[i] - sumDy - xhat * sumDyXhat)
                    ds[i] = overwrite ? g : ds[i] + g
                }
            }
        }
    }
}

/// Batch normalisation's constants, for code that folds it (model export).
public enum BatchNormalization {
    /// Added to the variance before the square root.
    public static let epsilon: Float = 1e-5
    /// How far the running statistics move towards each batch's.
    public static let momentum: Float = 0.1

    /// Evaluation's per-channel y = scale·x + shift: scale = γ/√(σ² + ε), shift = β − μ·scale,
    /// with the running statistics.
    public static func affine(gamma: [Float], beta: [Float], mean: [Float], variance: [Float]) -> (scale: [Float], shift: [Float]) {
        let scale = gamma.indices.map { gamma[$0] / (variance[$0] + epsilon).squareRoot() }
        return (scale, scale.indices.map { beta[$0] - mean[$0] * scale[$0] })
    }
}

extension GraphBuilder {
    /// Batch normalisation with new parameters `name.weight` (γ = 1) and `name.bias` (β = 0), and
    /// state `name.running_mean`, `name.running_var` (1).
    public func batchNorm(_ x: ValueID, name: String) throws(GraphError) -> ValueID {
        let c = type(of: x).shape.first ?? 1
        let gamma = parameter("\(name).weight", shape: [c]), beta = parameter("\(name).bias", shape: [c])
        let mean = state("\(name).running_mean", shape: [c]), variance = state("\(name).running_var", shape: [c])
        return try apply1(.batchNorm, [x, gamma, beta, mean, variance], name: name)
    }
}
