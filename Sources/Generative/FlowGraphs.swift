import Glibc
import Graph
import LowLevel

/// The pieces both directions of a RealNVP flow (`FlowConfig`) share: the coupling networks,
/// built under the same parameter names in the density and the sampling graph.
///
/// Names: coupling k (from 1) has states `flow.couplingK.mask` (1 on the positions it keeps, a
/// checkerboard whose parity alternates with k) and `flow.couplingK.free` (1 − mask), the
/// convolutions `flow.couplingK.convJ` (J from 1), `flow.couplingK.log_scale` and
/// `flow.couplingK.shift`, and the scalar parameter `flow.couplingK.scale`.
enum FlowCoupling {
    /// (s, t) of coupling `k` for the current value `x`, both already zero on the kept positions:
    /// s = free·scale·tanh(conv(h)), t = free·conv(h), h the network's last hidden layer on x·mask.
    static func shiftAndLogScale(_ g: GraphBuilder, _ x: ValueID, coupling k: Int, _ c: FlowConfig) throws(GraphError) -> (logScale: ValueID, shift: ValueID, mask: ValueID) {
        let name = "flow.coupling\(k)"
        let shape = [c.channels, c.height, c.width]
        let mask = g.state("\(name).mask", shape: shape), free = g.state("\(name).free", shape: shape)
        var h = try g.mul(x, mask)
        for j in 1...c.depth {
            let k = j == 1 ? 3 : c.innerKernel
            h = try g.relu(try g.conv2d(h, Conv2DSpec(filters: c.hidden, kernel: (k, k), same: true), name: "\(name).conv\(j)"))
        }
        let scale = g.parameter("\(name).scale", shape: [])
        let raw = try g.tanh(try g.conv2d(h, Conv2DSpec(filters: c.channels, kernel: (3, 3), same: true), name: "\(name).log_scale"))
        let s = try g.mul(try g.mul(raw, scale), free, name: "\(name).s")
        let t = try g.mul(try g.conv2d(h, Conv2DSpec(filters: c.channels, kernel: (3, 3), same: true), name: "\(name).shift"), free, name: "\(name).t")
        return (s, t, mask)
    }

    /// The checkerboard of coupling `k` (from 1): 1 where (row + column + k) is even.
    static func mask(coupling k: Int, _ c: FlowConfig) -> [Float] {
        var m = [Float](repeating: 0, count: c.pixels)
        for ch in 0..<c.channels {
            for y in 0..<c.height {
                for x in 0..<c.width where (y + x + k) % 2 == 0 { m[(ch * c.height + y) * c.width + x] = 1 }
            }
        }
        return m
    }
}

/// A flow's density as a graph: a dequantised image x [C, H, W] in [0, 1] to its negative
/// log-density −log p(x) in nats (`nll`, one per sample), the density over [0, 1]^n. The logit
/// transform y = logit(α + (1 − 2α)x) and each coupling's log-determinant are counted exactly;
/// the base density is N(0, I).
public struct FlowDensityGraph: Sendable {
    public let graph: Graph
    public let image: ValueID
    /// The image mapped to the base space, z [C, H, W].
    public let latent: ValueID
    public let nll: ValueID

    public init(_ c: FlowConfig) throws(GraphError) {
        let g = GraphBuilder()
        (image, latent, nll) = try Self.build(g, c)
        g.output(nll)
        graph = try g.build()
    }

    /// The density's nodes in `g`: the input `density.input`, the output `density.nll`.
    static func build(_ g: GraphBuilder, _ c: FlowConfig) throws(GraphError) -> (image: ValueID, latent: ValueID, nll: ValueID) {
        let image = g.input("density.input", shape: [c.channels, c.height, c.width])
        let alpha = c.alpha
        // p = α + (1 − 2α)x; y = log p − log(1 − p); log|dy/dx| = log(1 − 2α) − log p − log(1 − p).
        let p = try g.add(try g.mul(image, try g.constant(1 - 2 * alpha)), try g.constant(alpha), name: "flow.logit.p")
        let logP = try g.log(p), logQ = try g.log(try g.sub(try g.constant(1), p))
        var x = try g.sub(logP, logQ, name: "flow.logit")
        var logDeterminant = try g.sum(try g.neg(try g.add(logP, logQ)), over: .sample)
        // A per-position affine map y·exp(a) + b, set from the data before training (`FlowTrainer`).
        let a = g.parameter("flow.affine.log_scale", shape: [c.channels, c.height, c.width])
        let b = g.parameter("flow.affine.shift", shape: [c.channels, c.height, c.width])
        x = try g.add(try g.mul(x, try g.exp(a)), b, name: "flow.affine")
        logDeterminant = try g.add(logDeterminant, try g.sum(a, over: .sample))
        for k in 1...c.couplings {
            let (s, t, _) = try FlowCoupling.shiftAndLogScale(g, x, coupling: k, c)
            x = try g.add(try g.mul(x, try g.exp(s)), t, name: "flow.coupling\(k).y")
            logDeterminant = try g.add(logDeterminant, try g.sum(s, over: .sample))
        }
        // −log N(z; 0, I) = ½‖z‖² + (n/2)·log 2π, less the log-determinants.
        let n = Float(c.pixels)
        let constant = n * (0.5 * Glibc.logf(2 * Float.pi) - Glibc.logf(1 - 2 * alpha))
        let half = try g.mul(try g.sum(try g.square(x), over: .sample), try g.constant(0.5))
        let nll = try g.add(try g.sub(half, logDeterminant), try g.constant(constant), name: "density.nll")
        return (image, x, nll)
    }
}

/// A flow's sampler as a graph: z [C, H, W] ~ N(0, I) through the exact inverse of each coupling
/// (last first: x = (y − t)·exp(−s), with s and t computed from the kept positions, which the
/// coupling did not change) and of the logit, to an image in [0, 1] (clamped, since the inverse
/// logit can land just outside by the margin α).
public struct FlowSampleGraph: Sendable {
    public let graph: Graph
    public let latent: ValueID
    public let image: ValueID

    public init(_ c: FlowConfig) throws(GraphError) {
        let g = GraphBuilder()
        (latent, image) = try Self.build(g, c)
        g.output(image)
        graph = try g.build()
    }

    /// The sampler's nodes in `g`: the input `z`, the output `flow.image`.
    static func build(_ g: GraphBuilder, _ c: FlowConfig) throws(GraphError) -> (latent: ValueID, image: ValueID) {
        let latent = g.input("z", shape: [c.channels, c.height, c.width])
        var y = latent
        for k in stride(from: c.couplings, through: 1, by: -1) {
            let (s, t, _) = try FlowCoupling.shiftAndLogScale(g, y, coupling: k, c)
            y = try g.mul(try g.sub(y, t), try g.exp(try g.neg(s)), name: "flow.coupling\(k).x")
        }
        let a = g.parameter("flow.affine.log_scale", shape: [c.channels, c.height, c.width])
        let b = g.parameter("flow.affine.shift", shape: [c.channels, c.height, c.width])
        y = try g.mul(try g.sub(y, b), try g.exp(try g.neg(a)), name: "flow.affine.inverse")
        // x = (σ(y) − α)/(1 − 2α), clamped to [0, 1] as 1 − relu(1 − relu(x)).
        let alpha = c.alpha
        let x = try g.mul(try g.sub(try g.sigmoid(y), try g.constant(alpha)), try g.constant(1 / (1 - 2 * alpha)))
        let image = try g.sub(try g.constant(1), try g.relu(try g.sub(try g.constant(1), try g.relu(x))), name: "flow.image")
        return (latent, image)
    }
}

/// Both directions of a flow in one graph, sharing every parameter and mask by name: the sampler
/// first (input `z`, output `flow.image`, the model file's main input and output), then the
/// density (input `density.input`, output `density.nll`, the file's density entry). What a flow's
/// model file holds.
public struct FlowModelGraph: Sendable {
    public let graph: Graph
    public let latent: ValueID
    public let image: ValueID
    public let densityInput: ValueID
    public let nll: ValueID

    public init(_ c: FlowConfig) throws(GraphError) {
        let g = GraphBuilder()
        g.sharesParametersByName = true
        (latent, image) = try FlowSampleGraph.build(g, c)
        (densityInput, _, nll) = try FlowDensityGraph.build(g, c)
        g.output(image)
        g.output(nll)
        graph = try g.build()
    }
}
