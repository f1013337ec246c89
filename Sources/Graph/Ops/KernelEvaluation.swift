import LowLevel

/// y[r, i] = k(x_r, p_i) for N stored points p (a kernel machine's support vectors): x [batch, d],
/// points [N, d] → y [batch, N]. Arguments: `kernel` ints [code, degree] and `sigma` (float), as
/// `KernelFunction.code` gives them. Backward reaches x and the points through
/// `KernelFunction.gradientScale`.
enum KernelEvaluation: Operator {
    static func function(_ attributes: Attributes) -> KernelFunction? {
        let code = attributes.ints("kernel")
        guard code.count == 2 else { return nil }
        return KernelFunction(code: UInt32(truncatingIfNeeded: code[0]), degree: UInt32(truncatingIfNeeded: code[1]),
                              sigma: attributes.float("sigma"))
    }

    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 2 else { throw ShapeError("takes x and the points, got \(inputs.count) inputs") }
        let x = inputs[0], p = inputs[1]
        guard x.element == .float32, x.isBatched, x.shape.count == 1 else { throw ShapeError("x must be float32 [batch, d]") }
        guard !p.isBatched, p.shape.count == 2, p.shape[1] == x.shape[0] else { throw ShapeError("points must be [N, \(x.shape[0])]") }
        guard function(attributes) != nil else { throw ShapeError("needs a valid kernel argument [code, degree] and sigma") }
        return [TensorType([p.shape[0]], batched: true)]
    }

    static func forward(_ node: NodeRun) {
        let kernel = function(node.attributes)!
        let d = node.inputTypes[0].shape[0], n = node.inputTypes[1].shape[0]
        let x = node.input(0), points = node.input(1), y = node.output(0)
        for r in 0..<node.rows {
            for i in 0..<n { y[r * n + i] = kernel(x + r * d, points + i * d, count: d) }
        }
    }

    static func backward(_ node: NodeRun) {
        guard let dy = node.outputGradient(0) else { return }
        let kernel = function(node.attributes)!
        let d = node.inputTypes[0].shape[0], n = node.inputTypes[1].shape[0]
        let x = node.input(0), points = node.input(1), y = node.output(0)
        let dx = node.inputGradient(0), dp = node.inputGradient(1)
        for r in 0..<node.rows {
            let xr = x + r * d
            for i in 0..<n {
                let p = points + i * d, g = dy[r * n + i]
                let scale = g * kernel.gradientScale(dot: Kernels.dot(xr, p, count: d),
                                                     squaredDistance: Kernels.squaredDistance(xr, p, count: d), value: y[r * n + i])
                for j in 0..<d {
                    // ∂k/∂x = s·p (dot kernels) or s·(x − p); ∂k/∂p = s·x or −s·(x − p).
                    let (towardX, towardP) = kernel.usesDistance ? (xr[j] - p[j], p[j] - xr[j]) : (p[j], xr[j])
                    dx?[r * d + j] += scale * towardX
                    dp?[i * d + j] += scale * towardP
                }
            }
        }
    }
}

extension GraphBuilder {
    /// k(x, pᵢ) for every stored point: [batch, d] → [batch, N].
    public func kernel(_ x: ValueID, points: ValueID, _ kernel: KernelFunction, name: String? = nil) throws(GraphError) -> ValueID {
        let code = kernel.code
        return try apply1(.kernel, [x, points], attributes: Attributes(["kernel": .ints([Int(code.kind), Int(code.degree)]),
                                                                        "sigma": .float(code.sigma)]), name: name)
    }
}
