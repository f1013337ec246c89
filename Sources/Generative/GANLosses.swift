import Glibc

/// Each objective's losses as functions of the discriminator's raw scores S, with their
/// derivatives ∂L/∂S per sample: what seeds the discriminator's backward (and, through its input
/// gradient, the generator's). Means are over the batch, so each derivative carries 1/count.
extension GANObjective {
    /// log(1 + eˣ) without overflow.
    @inline(__always) static func softplus(_ x: Float) -> Float { max(x, 0) + log1pf(expf(-abs(x))) }
    @inline(__always) static func sigmoid(_ x: Float) -> Float { x >= 0 ? 1 / (1 + expf(-x)) : expf(x) / (1 + expf(x)) }
    /// eˢ with s capped at 30, so a runaway KL critic overflows to a large number, not infinity.
    @inline(__always) static func cappedExp(_ s: Float) -> Float { expf(min(s, 30)) }

    /// The discriminator's loss on `count` real and `count` fake scores; writes ∂L/∂S of each into
    /// `realGradient` and `fakeGradient`. MMD has no discriminator (0, nothing written).
    public func discriminatorLoss(real: UnsafePointer<Float>, fake: UnsafePointer<Float>, count n: Int,
                                  realGradient: UnsafeMutablePointer<Float>, fakeGradient: UnsafeMutablePointer<Float>) -> Float {
        let scale = 1 / Float(n)
        var loss: Float = 0
        for i in 0..<n {
            let r = real[i], f = fake[i]
            switch self {
            case .js, .jsMinimax:
                loss += Self.softplus(-r) + Self.softplus(f)
                realGradient[i] = -Self.sigmoid(-r) * scale
                fakeGradient[i] = Self.sigmoid(f) * scale
            case .kl:
                let e = Self.cappedExp(f)
                loss += -r + (e - 1)
                realGradient[i] = -scale
                fakeGradient[i] = e * scale
            case .wasserstein:
                loss += f - r
                realGradient[i] = -scale
                fakeGradient[i] = scale
            case .mmd:
                return 0
            }
        }
        return loss * scale
    }

    /// The generator's loss on `count` fake scores; writes ∂L/∂S into `gradient`.
    public func generatorLoss(fake: UnsafePointer<Float>, count n: Int, gradient: UnsafeMutablePointer<Float>) -> Float {
        let scale = 1 / Float(n)
        var loss: Float = 0
        for i in 0..<n {
            let f = fake[i]
            switch self {
            case .js:
                loss += Self.softplus(-f)
                gradient[i] = -Self.sigmoid(-f) * scale
            case .jsMinimax:
                loss += -Self.softplus(f)
                gradient[i] = -Self.sigmoid(f) * scale
            case .kl:
                let e = Self.cappedExp(f)
                loss += -(e - 1)
                gradient[i] = -e * scale
            case .wasserstein:
                loss += -f
                gradient[i] = -scale
            case .mmd:
                return 0
            }
        }
        return loss * scale
    }
}
