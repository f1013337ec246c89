/// y = Σ x over `ReductionAxes` (argument `axes`); dx += dy for every element summed.
enum Sum: Reduction {
    static let averages = false
}

extension GraphBuilder {
    public func sum(_ x: ValueID, over axes: ReductionAxes = .sample, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.sum, [x], attributes: Attributes(["axes": .int(axes.rawValue)]), name: name)
    }
}
