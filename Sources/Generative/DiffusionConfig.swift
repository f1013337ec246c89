/// A DDPM on gray images (the course's diffusion chapter): the forward process of `steps` steps
/// (`DiffusionSchedule`), and a small U-Net that predicts the noise ε from x_t and t. The U-Net has
/// three levels of `channels`, 2·`channels` and 4·`channels` channels (full, half and quarter
/// resolution, by 2×2 average pooling), two 3×3 convolutions with ReLU per block, nearest-neighbour
/// upsampling and skip connections by concatenation, and the timestep's sinusoidal embedding of
/// `embedding` features through a dense layer and ReLU, added per channel after each block's first
/// convolution. Trained on the ε-prediction loss ‖ε̂ − ε‖²/n by Adam; the model file gets an
/// exponential moving average of the weights (`average`), as DDPM samples from.
public struct DiffusionConfig: Codable, Sendable, Equatable {
    public var height = 28
    public var width = 28
    public var steps = 1000
    public var schedule = DiffusionSchedule.Kind.cosine
    /// Channels at full resolution.
    public var channels = 16
    /// Features of the timestep's sinusoidal embedding (even).
    public var embedding = 32
    public var epochs = 24
    public var batch = 64
    public var learningRate: Float = 1e-3
    public var seed: UInt64 = 42
    /// The decay of the weights' exponential moving average the model file is made from (with
    /// DDPM's warm-up, min(decay, (1 + t)/(10 + t)) at update t); 0 for the last weights.
    public var average: Float = 0.999
    /// How the model file's `infer_sample` draws: ancestral sampling over all `steps`, or the
    /// probability-flow ODE over `sampleSteps` (at most `steps`).
    public var sampler = SamplerKind.ode
    public var sampleSteps = 100

    public enum SamplerKind: String, Codable, Sendable, CaseIterable { case ancestral, ode }

    /// The sampler the model file stores.
    public var diffusionSampler: DiffusionSampler { sampler == .ode ? .ode(steps: min(sampleSteps, steps)) : .ancestral }

    public init() {}

    public var pixels: Int { height * width }

    /// Why the configuration cannot be trained, or nil.
    public var problem: String? {
        if height % 4 != 0 || width % 4 != 0 || height < 4 || width < 4 { return "the U-Net halves the image twice: height and width must be multiples of 4" }
        if steps < 1 || steps > 100_000 { return "the diffusion needs 1 to 100000 steps" }
        if channels < 1 { return "the U-Net needs at least one channel" }
        if embedding < 2 || embedding % 2 != 0 { return "the timestep embedding needs an even number of features" }
        if sampleSteps < 1 { return "the ODE sampler needs at least one step" }
        if !(average >= 0 && average < 1) { return "the weights' moving average decay must be in [0, 1)" }
        if batch < 1 { return "the batch must hold at least one image" }
        if epochs < 0 { return "epochs must be 0 or more" }
        if !(learningRate > 0 && learningRate.isFinite) { return "the learning rate must be positive" }
        return nil
    }
}
