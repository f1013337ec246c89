import Foundation

/// One axis of a chart: a range widened to round ends, and ticks at a round step (1, 2 or 5 times
/// a power of ten), as a reader would mark it by hand.
public struct AxisScale: Sendable, Equatable {
    public let lower: Double
    public let upper: Double
    public let step: Double

    /// A scale covering `minimum...maximum` with about `ticks` intervals; with `integers`, no step
    /// below 1 (epochs, iterations). Non-finite ends or an empty range get a range around what is finite.
    public init(covering minimum: Double, _ maximum: Double, ticks: Int = 5, integers: Bool = false) {
        var (low, high) = (minimum, maximum)
        if !low.isFinite || !high.isFinite || low > high { (low, high) = (0, 1) }
        if low == high {
            let pad = low == 0 ? 1 : abs(low) * 0.1
            (low, high) = (low - pad, high + pad)
        }
        let raw = (high - low) / Double(max(ticks, 1))
        let magnitude = pow(10, floor(log10(raw)))
        let fraction = raw / magnitude
        var step = (fraction < 1.5 ? 1 : fraction < 3 ? 2 : fraction < 7 ? 5 : 10) * magnitude
        if integers { step = max(step, 1).rounded() }
        self.step = step
        lower = floor(low / step + 1e-9) * step
        upper = ceil(high / step - 1e-9) * step
    }

    /// The tick values from `lower` to `upper`.
    public var ticks: [Double] {
        let count = Int(((upper - lower) / step).rounded())
        return (0...count).map { lower + Double($0) * step }
    }

    /// A tick's label with as many decimals as the step needs ("0.25", "1500").
    public func label(_ value: Double) -> String {
        let decimals = max(0, Int(-floor(log10(step) + 1e-9)))
        let text = String(format: "%.\(decimals)f", value)
        return text.hasPrefix("-") && Double(text) == 0 ? String(text.dropFirst()) : text
    }

    /// Where `value` falls between `lower` (0) and `upper` (1).
    public func fraction(_ value: Double) -> Double { (value - lower) / (upper - lower) }
}
