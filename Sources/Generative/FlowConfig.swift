/// The shape and training of a RealNVP flow on gray images with pixels in [0, 1] (the course's
/// flows chapter): uniform dequantisation, a logit transform, then `couplings` affine coupling
/// layers y = x·exp(s(x_kept)) + t(x_kept) on the positions a checkerboard mask leaves free,
/// the mask's parity alternating from layer to layer, and a standard normal base density.
/// Each coupling's s and t come from one small convolutional network on the kept positions:
/// `depth` 3×3 convolutions of `channels` filters with ReLU, then two 3×3 convolutions to s
/// (through tanh, times a learned scale) and t, both zero at initialisation so the flow starts as
/// the identity after the logit.
public struct FlowConfig: Codable, Sendable, Equatable {
    public var channels = 1
    public var height = 28
    public var width = 28
    public var couplings = 8
    /// Filters of each coupling network's hidden convolutions.
    public var hidden = 32
    /// Hidden convolutions per coupling network.
    public var depth = 2
    /// The kernel of the hidden convolutions after the first: 3 (3×3 throughout), or 1 (Glow's
    /// coupling network: 3×3, then 1×1, then the 3×3 convolutions to s and t).
    public var innerKernel = 3
    /// The logit transform's margin: a pixel value x in [0, 1] maps to logit(α + (1 − 2α)x).
    public var alpha: Float = 1e-5
    public var epochs = 5
    public var batch = 64
    public var learningRate: Float = 2e-3
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8
    public var seed: UInt64 = 42

    public init() {}

    public var pixels: Int { channels * height * width }

    /// Why the configuration cannot be trained, or nil.
    public var problem: String? {
        if channels != 1 { return "flows take gray images (one channel)" }
        if height < 2 || width < 2 { return "the image must be at least 2×2" }
        if couplings < 1 { return "a flow needs at least one coupling layer" }
        if hidden < 1 || depth < 1 { return "coupling networks need at least one hidden convolution of at least one filter" }
        if innerKernel != 1 && innerKernel != 3 { return "the inner convolutions' kernel is 1 (1×1) or 3 (3×3)" }
        if !(alpha > 0 && alpha < 0.5) { return "the logit margin α must be in (0, 0.5)" }
        if batch < 1 { return "the batch must hold at least one image" }
        if epochs < 0 { return "epochs must be 0 or more" }
        if !(learningRate > 0 && learningRate.isFinite) { return "the learning rate must be positive" }
        return nil
    }
}
