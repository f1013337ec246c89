import LowLevel
import ModelFile

/// How a layer's weights are drawn. Biases start at zero.
public enum WeightInitializer: String, Codable, Sendable, CaseIterable {
    /// He et al.: normal with standard deviation √(2 / fan-in); suits ReLU and ELU.
    case he
    /// Glorot & Bengio: uniform on ±√(6 / (fan-in + fan-out)); suits sigmoid and tanh.
    case xavier

    public func fill(_ w: UnsafeMutableBufferPointer<Float>, fanIn: Int, fanOut: Int, rng: inout RandomGenerator) {
        switch self {
        case .he:
            let std = (2 / Float(fanIn)).squareRoot()
            for i in w.indices { w[i] = std * rng.nextGaussian() }
        case .xavier:
            let limit = (6 / Float(fanIn + fanOut)).squareRoot()
            for i in w.indices { w[i] = limit * (2 * rng.nextUniform() - 1) }
        }
    }
}
