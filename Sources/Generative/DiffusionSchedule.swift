import Glibc
import LowLevel

/// DDPM's forward process over T steps (the course's diffusion chapter): q(x_t | x_0) =
/// N(√ᾱ_t·x_0, (1 − ᾱ_t)·I) with ᾱ_t = Π_{s ≤ t} (1 − β_s). Two schedules: `linear`, β from 1e-4
/// to 0.02 as in Ho et al. (for T = 1000; scaled by 1000/T otherwise, so the total noise stays
/// the same), and `cosine`, ᾱ_t = f(t)/f(0) with f(t) = cos²(((t/T + s)/(1 + s))·π/2), s = 0.008,
/// each β clipped at 0.999 (Nichol and Dhariwal). Everything is in Double; steps count from 1.
public struct DiffusionSchedule: Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable { case linear, cosine }

    public let kind: Kind
    public let steps: Int
    /// β_t at index t − 1.
    public let beta: [Double]
    /// ᾱ_t at index t, with ᾱ_0 = 1.
    public let alphaBar: [Double]

    /// - Precondition: `steps` ≥ 1.
    public init(_ kind: Kind, steps: Int) {
        precondition(steps >= 1, "a diffusion needs at least one step")
        self.kind = kind
        self.steps = steps
        var beta: [Double] = []
        switch kind {
        case .linear:
            let scale = 1000 / Double(steps), first = 1e-4 * scale, last = min(0.02 * scale, 0.999)
            for t in 1...steps { beta.append(steps == 1 ? first : first + (last - first) * Double(t - 1) / Double(steps - 1)) }
        case .cosine:
            func f(_ t: Double) -> Double {
                let c = Glibc.cos((t / Double(steps) + 0.008) / 1.008 * Double.pi / 2)
                return c * c
            }
            for t in 1...steps { beta.append(min(1 - f(Double(t)) / f(Double(t - 1)), 0.999)) }
        }
        var alphaBar = [1.0]
        for b in beta { alphaBar.append(alphaBar.last! * (1 - b)) }
        self.beta = beta
        self.alphaBar = alphaBar
    }

    /// x_t = √ᾱ_t·x_0 + √(1 − ᾱ_t)·ε, the forward process in one jump (what training draws).
    public func noised(_ x0: Double, noise: Double, at t: Int) -> Double {
        alphaBar[t].squareRoot() * x0 + (1 - alphaBar[t]).squareRoot() * noise
    }
}

/// The two reverse-time samplers, for any noise predictor ε̂(x_t, t) (the course's SDE ↔ ODE
/// equivalence). `ancestral` is DDPM's step, the Euler–Maruyama discretisation of the reverse SDE:
/// x_{t−1} = (x_t − β_t/√(1 − ᾱ_t)·ε̂)/√(1 − β_t) + √β_t·z, z ~ N(0, I) (no noise at the last
/// step). `ode` follows the probability-flow ODE with the deterministic DDIM step on a subsequence
/// t_K > ... > t_1 of the T steps: x̂_0 = (x_t − √(1 − ᾱ_t)·ε̂)/√ᾱ_t, then
/// x_s = √ᾱ_s·x̂_0 + √(1 − ᾱ_s)·ε̂ for the next time s (0 at the end), which needs far fewer steps.
public enum DiffusionSampler: Equatable, Sendable {
    case ancestral
    case ode(steps: Int)

    /// The times the sampler visits, first to last (each in 1...T).
    public func times(_ schedule: DiffusionSchedule) -> [Int] {
        switch self {
        case .ancestral: return Array((1...schedule.steps).reversed())
        case .ode(let k):
            let k = max(1, min(k, schedule.steps))
            return (0..<k).map { DiffusionStep.odeTime($0, of: k, steps: schedule.steps) }
        }
    }

    /// One step from `x` at time `t` to the sampler's next time (`next`, 0 at the end), in
    /// place (`DiffusionStep`): `epsilon` is ε̂(x, t); `ancestral` draws one normal per element from
    /// `random` (none at the last step), `ode` draws nothing. `clip` keeps x̂_0 in [−1, 1], as
    /// for images (`DiffusionStep`).
    public static func step(_ sampler: DiffusionSampler, _ schedule: DiffusionSchedule, x: UnsafeMutableBufferPointer<Float>,
                            epsilon: UnsafePointer<Float>, clip: Bool, random: inout RandomGenerator, from t: Int, to next: Int) {
        switch sampler {
        case .ancestral:
            DiffusionStep.ancestral(x.baseAddress!, count: x.count, epsilon: epsilon, alphaBar: schedule.alphaBar[t],
                                    previous: schedule.alphaBar[t - 1], last: t == 1, clip: clip, random: &random)
        case .ode:
            DiffusionStep.ode(x.baseAddress!, count: x.count, epsilon: epsilon, alphaBar: schedule.alphaBar[t], target: schedule.alphaBar[next], clip: clip)
        }
    }
}
