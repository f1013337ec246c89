import LowLevel

/// Predictions from stored points and their targets (`NeighbourSearch`): x [batch, d], points
/// [N, d], targets [N] → [batch, classes] (k-NN vote fractions) or [batch, 1] (k-NN mean, kernel
/// smoothing, local linear regression). Arguments: `k`, `metric` (`DistanceMetric.code`), `mode`
/// (1 classify, 2 regress, 3 kernel smoothing, 4 local linear), `classes` (mode 1), `kernel` and
/// `sigma` (mode 3, as `KernelEvaluation`), `bandwidth` (mode 4). No gradient.
enum NearestNeighbourLookup: Operator {
    static func mode(_ attributes: Attributes) -> NeighbourMode? {
        switch attributes.int("mode") {
        case 1: return .classify(classes: attributes.int("classes"))
        case 2: return .regress
        case 3: return KernelEvaluation.function(attributes).map { .kernelSmoothing($0) }
        case 4: return .localLinear(sigma: attributes.float("bandwidth"))
        default: return nil
        }
    }

    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 3 else { throw ShapeError("takes x, the points and their targets, got \(inputs.count) inputs") }
        let x = inputs[0], p = inputs[1], t = inputs[2]
        guard x.element == .float32, x.isBatched, x.shape.count == 1 else { throw ShapeError("x must be float32 [batch, d]") }
        guard !p.isBatched, p.shape.count == 2, p.shape[1] == x.shape[0], !t.isBatched, t.shape == [p.shape[0]] else {
            throw ShapeError("points must be [N, \(x.shape[0])] and targets [N]")
        }
        guard DistanceMetric(code: UInt32(truncatingIfNeeded: attributes.int("metric"))) != nil else { throw ShapeError("unknown metric") }
        let k = attributes.int("k")
        switch mode(attributes) {
        case .classify(let classes)?:
            guard classes >= 2, (1...min(p.shape[0], 1024)).contains(k) else { throw ShapeError("needs 2 or more classes and k in 1...min(N, 1024)") }
            return [TensorType([classes], batched: true)]
        case .regress?:
            guard (1...min(p.shape[0], 1024)).contains(k) else { throw ShapeError("k must be 1...min(N, 1024)") }
            return [TensorType([1], batched: true)]
        case .kernelSmoothing?:
            return [TensorType([1], batched: true)]
        case .localLinear(let sigma)?:
            guard sigma > 0, sigma.isFinite, x.shape[0] <= 64 else { throw ShapeError("local linear needs a positive bandwidth and at most 64 inputs") }
            return [TensorType([1], batched: true)]
        case nil:
            throw ShapeError("unknown mode or its arguments missing")
        }
    }

    /// 0: distances, 1: indices of the k nearest; 2: the local linear solve's doubles.
    static func buffers(inputs: [TensorType], outputs: [TensorType], attributes: Attributes, maxBatch: Int) -> [BufferRequest] {
        let k = attributes.int("k"), local = attributes.int("mode") == 4
        return [.floats(.forward, k), .floats(.forward, k),
                BufferRequest(.forward, bytes: local ? 8 * NeighbourSearch.localLinearScratch(dimension: inputs[0].shape[0]) : 0)]
    }

    static var isDifferentiable: Bool { false }

    static func forward(_ node: NodeRun) {
        let d = node.inputTypes[0].shape[0], n = node.inputTypes[1].shape[0], width = node.outputTypes[0].shape[0]
        let points = node.input(1), targets = node.input(2), k = node.attributes.int("k")
        let metric = DistanceMetric(code: UInt32(node.attributes.int("metric")))!
        let distances = node.floatBuffer(0), indices = node.buffer(1).assumingMemoryBound(to: Int32.self)
        let mode = mode(node.attributes)!
        for r in 0..<node.rows {
            let x = node.input(0) + r * d, y = node.output(0) + r * width
            switch mode {
            case .classify, .regress:
                let found = NeighbourSearch.nearest(x, points: points, count: n, dimension: d, k: k, metric: metric,
                                                    distances: distances, indices: indices)
                if case .classify(let classes) = mode {
                    NeighbourSearch.vote(indices, found: found, labels: targets, classes: classes, into: y)
                } else {
                    y[0] = NeighbourSearch.mean(indices, found: found, targets: targets)
                }
            case .kernelSmoothing(let kernel):
                y[0] = NeighbourSearch.kernelSmoothing(x, points: points, targets: targets, count: n, dimension: d, kernel: kernel)
            case .localLinear(let sigma):
                y[0] = NeighbourSearch.localLinear(x, points: points, targets: targets, count: n, dimension: d, sigma: sigma,
                                                   scratch: node.buffer(2).assumingMemoryBound(to: Double.self))
            }
        }
    }

    static func backward(_ node: NodeRun) {}
}

extension GraphBuilder {
    /// A nearest-neighbour model over stored `points` and their `targets` (class index or value).
    public func nearestNeighbours(_ x: ValueID, points: ValueID, targets: ValueID, k: Int, metric: DistanceMetric,
                                  mode: NeighbourMode, name: String? = nil) throws(GraphError) -> ValueID {
        var arguments: [String: Attributes.Argument] = ["k": .int(k), "metric": .int(Int(metric.code))]
        switch mode {
        case .classify(let classes): arguments["mode"] = .int(1); arguments["classes"] = .int(classes)
        case .regress: arguments["mode"] = .int(2)
        case .kernelSmoothing(let kernel):
            let code = kernel.code
            arguments["mode"] = .int(3)
            arguments["kernel"] = .ints([Int(code.kind), Int(code.degree)])
            arguments["sigma"] = .float(code.sigma)
        case .localLinear(let sigma): arguments["mode"] = .int(4); arguments["bandwidth"] = .float(sigma)
        }
        return try apply1(.nearestNeighbours, [x, points, targets], attributes: Attributes(arguments), name: name)
    }
}
