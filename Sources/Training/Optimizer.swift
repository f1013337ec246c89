import Arena
import ModelFile
import LowLevel

/// Which update rule, with its hyper-parameters. Stored in checkpoints.
public struct OptimizerConfig: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case sgd, momentum, adam, adamw, adagrad, lamb }
    public var kind: Kind
    /// Weight decay λ on weights (not biases); 0 for none. L2 (added to the gradient) for every
    /// kind but AdamW and LAMB, where it is decoupled.
    public var weightDecay: Float = 0
    /// μ for `.momentum`.
    public var momentum: Float = 0.9
    public var beta1: Float = 0.9
    public var beta2: Float = 0.999
    public var epsilon: Float = 1e-8

    public init(kind: Kind, weightDecay: Float = 0) {
        self.kind = kind
        self.weightDecay = weightDecay
    }
}

/// Applies one update to every parameter from its gradient. State (velocities, moments) lives in
/// the arena, allocated once at construction; `update` allocates nothing.
public final class Optimizer {
    public let config: OptimizerConfig
    public let parameters: [Parameter]
    /// Updates applied so far.
    public var step: Int = 0
    /// Per-parameter state tensors: none for SGD, the velocity for momentum, m and s for Adam and
    /// LAMB, the sum of squared gradients for Adagrad.
    public let state: [[UnsafeMutableBufferPointer<Float>]]

    public init(_ config: OptimizerConfig, parameters: [Parameter], arena: ArenaAllocator) throws(ArenaError) {
        self.config = config
        self.parameters = parameters
        let slots = Self.stateSlots(config.kind)
        var state: [[UnsafeMutableBufferPointer<Float>]] = []
        for p in parameters {
            var tensors: [UnsafeMutableBufferPointer<Float>] = []
            for _ in 0..<slots { tensors.append(try arena.allocateFloats(p.count)) }
            state.append(tensors)
        }
        self.state = state
    }

    /// State tensors per parameter for an optimizer kind.
    public static func stateSlots(_ kind: OptimizerConfig.Kind) -> Int {
        switch kind { case .sgd: 0; case .momentum, .adagrad: 1; case .adam, .adamw, .lamb: 2 }
    }

    /// Applies one update with learning rate `learningRate`.
    public func update(learningRate lr: Float) {
        step += 1
        for (index, p) in parameters.enumerated() {
            let w = p.value.baseAddress!, g = UnsafePointer(p.gradient.baseAddress!)
            let decay = p.decays ? config.weightDecay : 0
            switch config.kind {
            case .sgd:
                Kernels.sgdUpdate(w, gradient: g, learningRate: lr, decay: decay, count: p.count)
            case .momentum:
                Kernels.momentumUpdate(w, gradient: g, velocity: state[index][0].baseAddress!, learningRate: lr,
                                       momentum: config.momentum, decay: decay, count: p.count)
            case .adam:
                Kernels.adamUpdate(w, gradient: g, firstMoment: state[index][0].baseAddress!,
                                   secondMoment: state[index][1].baseAddress!, learningRate: lr,
                                   beta1: config.beta1, beta2: config.beta2, epsilon: config.epsilon,
                                   decay: decay, step: step, count: p.count)
            case .adamw:
                Kernels.adamWUpdate(w, gradient: g, firstMoment: state[index][0].baseAddress!,
                                    secondMoment: state[index][1].baseAddress!, learningRate: lr,
                                    beta1: config.beta1, beta2: config.beta2, epsilon: config.epsilon,
                                    decay: decay, step: step, count: p.count)
            case .adagrad:
                Kernels.adagradUpdate(w, gradient: g, squares: state[index][0].baseAddress!, learningRate: lr,
                                      epsilon: config.epsilon, decay: decay, count: p.count)
            case .lamb:
                Kernels.lambUpdate(w, gradient: g, firstMoment: state[index][0].baseAddress!,
                                   secondMoment: state[index][1].baseAddress!, learningRate: lr,
                                   beta1: config.beta1, beta2: config.beta2, epsilon: config.epsilon,
                                   decay: decay, step: step, count: p.count)
            }
        }
    }
}
