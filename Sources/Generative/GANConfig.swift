/// What a GAN's two players optimise (the course's GAN chapter). S is the discriminator's raw
/// output (a logit, or a critic's score), P the data and Q the generator's distribution.
public enum GANObjective: String, Codable, Sendable, CaseIterable {
    /// The standard GAN (Jensen–Shannon): the discriminator minimises
    /// softplus(−S(real)) + softplus(S(fake)); the generator the non-saturating −log σ(S(fake)).
    case js
    /// The same discriminator; the generator minimises the course's minimax form log(1 − σ(S(fake))).
    case jsMinimax = "js-minimax"
    /// The f-GAN form of KL(P‖Q) with f*(s) = eˢ − 1: the discriminator maximises
    /// E_P[S] − E_Q[eˢ − 1], the generator minimises that estimate's fake term's negative.
    case kl
    /// Wasserstein-1 with a Lipschitz critic kept by weight clipping: the critic maximises
    /// E_P[S] − E_Q[S], `criticSteps` updates per generator update; the generator minimises −E_Q[S].
    case wasserstein
    /// No discriminator: the generator minimises the unbiased kernel MMD² between a generated and
    /// a real batch, with Gaussian kernels at several widths (`mmdWidths`).
    case mmd
}

/// The shape and training of a GAN on images with pixels in [0, 1]: multilayer perceptrons for both
/// players (the generator ReLU then a sigmoid output, the discriminator leaky ReLU with slope
/// 0.2), Adam with β1 = 0.5 for both, alternating one discriminator and one generator update per
/// batch (the Wasserstein critic: `criticSteps` per generator update).
public struct GANConfig: Codable, Sendable, Equatable {
    public var channels = 1
    public var height = 28
    public var width = 28
    public var latent = 64
    public var generatorHidden = [256, 512, 1024]
    public var discriminatorHidden = [512, 256]
    /// Batch normalisation after each hidden dense layer of the generator (folded into the dense
    /// weights when the generator is exported).
    public var generatorBatchNorm = true
    /// Dropout rate after each hidden layer of the discriminator (0: none).
    public var discriminatorDropout: Float = 0.3
    /// The exported generator is an exponential moving average of the trained one's weights,
    /// θ̄ ← βθ̄ + (1 − β)θ after each generator update with β = min(this, (1 + t)/(10 + t)) at step
    /// t (0: the last weights). Its batch-norm statistics are re-estimated for the averaged weights.
    public var generatorAverage: Float = 0.999
    /// Both learning rates fall linearly to 0 over the run (false: constant; measured worse with
    /// the averaged generator: inception score 8.15 against 8.54 after 30 epochs).
    public var learningRateDecay = false
    public var objective = GANObjective.js
    public var epochs = 30
    public var batch = 64
    public var learningRate: Float = 2e-4
    public var beta1: Float = 0.5
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    /// Critic updates per generator update (Wasserstein only; 1 for the others).
    public var criticSteps = 5
    /// The Wasserstein critic's weights are clipped to ±this after each update.
    public var weightClip: Float = 0.01
    /// Kernel widths σ (in pixel units of [0, 1] images) of the MMD objective's Gaussian kernels
    /// exp(−‖a − b‖² / (2σ²)), summed.
    public var mmdWidths: [Float] = [1, 2, 4, 8, 16]
    public var seed: UInt64 = 42

    public init() {}

    public var pixels: Int { channels * height * width }

    /// Why the configuration cannot be trained, or nil.
    public var problem: String? {
        if channels < 1 || height < 1 || width < 1 { return "the image size must be positive" }
        if latent < 1 { return "the latent dimension must be positive" }
        if generatorHidden.contains(where: { $0 < 1 }) || discriminatorHidden.contains(where: { $0 < 1 }) {
            return "hidden layer widths must be positive"
        }
        if !(discriminatorDropout >= 0 && discriminatorDropout < 1) { return "the discriminator's dropout must be in [0, 1)" }
        if !(generatorAverage >= 0 && generatorAverage < 1) { return "the generator average's decay must be in [0, 1)" }
        if batch < 2 { return "a GAN's batch needs at least 2 images" }
        if epochs < 0 { return "epochs must be 0 or more" }
        if !(learningRate > 0) { return "the learning rate must be positive" }
        if criticSteps < 1 { return "critic steps must be at least 1" }
        if objective == .mmd && (mmdWidths.isEmpty || mmdWidths.contains(where: { !($0 > 0) })) {
            return "MMD needs positive kernel widths"
        }
        return nil
    }

    /// Discriminator updates per generator update.
    public var discriminatorSteps: Int { objective == .wasserstein ? criticSteps : 1 }
}
