import Foundation

// What every test target shares: where the data is, and a seeded generator for test values.

/// The package root.
public let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

/// The MNIST sample bundled with the train command (1,000 training and 200 test digits).
public let sampleDirectory: String = packageRoot.appendingPathComponent("Sources/train/Resources/mnist-sample").path

/// The small data sets bundled with the train command.
public let smallDataDirectory: String = packageRoot.appendingPathComponent("Sources/train/Resources/small").path

/// Committed fixtures.
public let fixtures: URL = packageRoot.appendingPathComponent("Tests/Fixtures")

/// Full MNIST when MNIST_DIR points at it (the full-data tests are skipped otherwise).
public let mnistDirectory: String? = ProcessInfo.processInfo.environment["MNIST_DIR"].flatMap { $0.isEmpty ? nil : $0 }

/// SplitMix64: a tiny deterministic generator for test data, the same numbers on every platform.
public struct SeededRandom {
    public var state: UInt64
    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [−1, 1).
    public mutating func nextFloat() -> Float { Float(next() >> 40) / Float(1 << 23) - 1 }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * Float(next() >> 40) / Float(1 << 24)
    }
}
