/// y = (1/n) Σ x over `ReductionAxes` (argument `axes`); dx += dy/n. With `.all` on a batched
/// value, n counts the samples of the current pass.
enum Mean: Reduction {
    static let averages = true
}

extension GraphBuilder {
    public func mean(_ x: ValueID, over axes: ReductionAxes = .sample, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.mean, [x], attributes: Attributes(["axes": .int(axes.rawValue)]), name: name)
    }
}
