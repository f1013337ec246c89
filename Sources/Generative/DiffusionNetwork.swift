import Glibc
import Graph
import LowLevel

/// The noise predictor of a DDPM (`DiffusionConfig`) as a graph: inputs x_t [1, H, W] and the
/// timestep's embedding [E] (`timestepEmbedding`), output ε̂ [1, H, W]; with `loss`, a third input
/// ε [1, H, W] and the per-sample loss Σ(ε̂ − ε)²/n.
///
/// Names: `unet.time` (the embedding's dense layer), per level L (1 to 3, full resolution first)
/// `unet.downL.conv1`, `.conv2` and `.time` (the embedding's projection to the block's channels),
/// the same under `unet.upL` for levels 2 and 1, and `unet.out`.
public struct DiffusionNetwork: Sendable {
    public let graph: Graph
    public let noisy: ValueID
    public let time: ValueID
    public let prediction: ValueID
    public let noise: ValueID?
    public let loss: ValueID?

    public init(_ c: DiffusionConfig, loss withLoss: Bool) throws(GraphError) {
        let g = GraphBuilder()
        noisy = g.input("x", shape: [1, c.height, c.width])
        time = g.input("t_embedding", shape: [c.embedding])
        let t = try g.relu(try g.dense(time, outputs: 4 * c.channels, name: "unet.time"))
        func conv(_ x: ValueID, _ filters: Int, _ name: String) throws(GraphError) -> ValueID {
            try g.conv2d(x, Conv2DSpec(filters: filters, kernel: (3, 3), same: true), name: name)
        }
        // A level: conv, the timestep's per-channel offset, ReLU, conv, ReLU.
        func block(_ x: ValueID, _ filters: Int, _ name: String) throws(GraphError) -> ValueID {
            let h = try g.addPerChannel(try conv(x, filters, "\(name).conv1"), try g.dense(t, outputs: filters, name: "\(name).time"))
            return try g.relu(try conv(try g.relu(h), filters, "\(name).conv2"))
        }
        let widths = [c.channels, 2 * c.channels, 4 * c.channels]
        let pool = PoolSpec(window: (2, 2))
        let s1 = try block(noisy, widths[0], "unet.down1")
        let s2 = try block(try g.avgPool2d(s1, pool), widths[1], "unet.down2")
        let middle = try block(try g.avgPool2d(s2, pool), widths[2], "unet.down3")
        let u2 = try block(try g.concat(try g.upsample2d(middle, factor: 2), s2), widths[1], "unet.up2")
        let u1 = try block(try g.concat(try g.upsample2d(u2, factor: 2), s1), widths[0], "unet.up1")
        prediction = try conv(u1, 1, "unet.out")
        if withLoss {
            let e = g.input("epsilon", shape: [1, c.height, c.width])
            let squared = try g.sum(try g.square(try g.sub(prediction, e)), over: .sample)
            let l = try g.mul(squared, try g.constant(1 / Float(c.pixels)), name: "diffusion.loss")
            g.output(l)
            (noise, loss) = (e, l)
        } else {
            g.output(prediction)
            (noise, loss) = (nil, nil)
        }
        graph = try g.build()
    }

    /// The sinusoidal embedding of timestep t (1...T) into `out` [E]: sin(t·ω_i) in the first half,
    /// cos(t·ω_i) in the second, ω_i = 10000^(−i/(E/2)), the transformer's positional encoding.
    public static func timestepEmbedding(_ t: Int, into out: UnsafeMutablePointer<Float>, features e: Int) {
        let half = e / 2
        for i in 0..<half {
            let angle = Double(t) * Glibc.pow(10000, -Double(i) / Double(half))
            out[i] = Float(Glibc.sin(angle))
            out[half + i] = Float(Glibc.cos(angle))
        }
    }
}
