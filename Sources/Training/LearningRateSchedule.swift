import Glibc
import ModelFile

/// How the learning rate changes during training. η₀ is the base rate, t the number of updates
/// already applied, e the number of epochs already completed.
public enum LearningRateSchedule: Codable, Sendable, Equatable {
    /// η₀ throughout.
    case constant
    /// η₀ divided by 10 at each listed epoch (e.g. [3, 4]: η₀ for epochs 0-2, η₀/10 for epoch 3, η₀/100 after).
    case step(epochs: [Int])
    /// η₀ / (1 + c·t).
    case inverseTime(c: Float)
    /// η₀ / √(1 + c·t).
    case inverseSqrt(c: Float)

    public func rate(base: Float, step t: Int, epoch e: Int) -> Float {
        switch self {
        case .constant:
            return base
        case .step(let epochs):
            var rate = base
            for boundary in epochs where e >= boundary { rate /= 10 }
            return rate
        case .inverseTime(let c):
            return base / (1 + c * Float(t))
        case .inverseSqrt(let c):
            return base / (1 + c * Float(t)).squareRoot()
        }
    }

    /// Parses "constant", "step:3,4", "inverse-time:0.001", "inverse-sqrt:0.001".
    public init?(parsing text: String) {
        let parts = text.split(separator: ":", maxSplits: 1).map(String.init)
        switch parts.first {
        case "constant" where parts.count == 1:
            self = .constant
        case "step" where parts.count == 2:
            let epochs = parts[1].split(separator: ",").compactMap { Int($0) }
            guard !epochs.isEmpty, epochs.count == parts[1].split(separator: ",").count,
                  epochs.allSatisfy({ $0 >= 0 }) else { return nil }
            self = .step(epochs: epochs)
        case "inverse-time" where parts.count == 2:
            guard let c = Float(parts[1]), c >= 0, c.isFinite else { return nil }
            self = .inverseTime(c: c)
        case "inverse-sqrt" where parts.count == 2:
            guard let c = Float(parts[1]), c >= 0, c.isFinite else { return nil }
            self = .inverseSqrt(c: c)
        default:
            return nil
        }
    }

    public var text: String {
        switch self {
        case .constant: "constant"
        case .step(let epochs): "step:" + epochs.map(String.init).joined(separator: ",")
        case .inverseTime(let c): "inverse-time:\(c)"
        case .inverseSqrt(let c): "inverse-sqrt:\(c)"
        }
    }
}

/// nanoGPT's schedule at update `step` (0-based) of `total`: a linear warm-up over `warmup`
/// updates to `peak`, then a cosine down to `floor` at the last update.
func warmupCosineRate(at step: Int, of total: Int, warmup: Int, peak: Float, floor: Float) -> Float {
    if step < warmup { return peak * Float(step + 1) / Float(warmup + 1) }
    let progress = min(Float(step - warmup) / Float(max(total - warmup, 1)), 1)
    return floor + 0.5 * (1 + cosf(.pi * progress)) * (peak - floor)
}
