import Graph
import LowLevel

/// The shape of a vision transformer for C×H×W images: square patches of `patch` pixels (no
/// overlap), `layers` pre-norm blocks of `width` features and `heads` heads, mean pooling over the
/// patches, and a linear classifier over `classes`.
public struct ViTConfig: Codable, Sendable, Equatable {
    public var channels = 1
    public var height = 28
    public var width = 28
    public var patch = 7
    public var features = 64
    public var layers = 4
    public var heads = 4
    public var classes = 10
    public var dropout: Float = 0

    public init() {}

    /// Patches per image.
    public var positions: Int { (height / patch) * (width / patch) }

    /// Why the shape cannot be built, or nil.
    public var problem: String? {
        if channels < 1 || height < 1 || width < 1 || patch < 1 { return "the image and patch sizes must be positive" }
        if height % patch != 0 || width % patch != 0 { return "--patch \(patch) must divide the image's \(height)×\(width) pixels" }
        if features < 1 || layers < 1 || heads < 1 || classes < 2 { return "width, layers and heads must be positive, and there must be 2 classes or more" }
        if features % heads != 0 { return "--heads \(heads) must divide --width \(features)" }
        if !(dropout >= 0 && dropout < 1) { return "dropout must be in [0, 1), not \(dropout)" }
        return nil
    }
}

/// A vision transformer as a graph: the patch embedding as a convolution whose kernel and stride
/// are the patch size (each patch's pixels times one weight matrix), transposed to one row of
/// `features` per patch, plus learned positions; the GPT's blocks without the causal mask
/// (`TransformerLayers`, nanoGPT's names under `transformer.h.N`); a final layer norm; the mean
/// over the patches (average pooling over the rows); a linear head to the class logits; and the
/// mean cross-entropy against int32 labels.
public struct ViTGraph: Sendable {
    public let config: ViTConfig
    public let graph: Graph
    /// Images [batch, C, H, W] (pixels in [0, 1]) and labels [batch] (int32).
    public let images: ValueID
    public let labels: ValueID
    /// [batch, classes].
    public let logits: ValueID
    /// The batch's mean cross-entropy (unbatched scalar).
    public let loss: ValueID
    public let generator: ValueID?

    public init(_ config: ViTConfig) throws(GraphError) {
        if let problem = config.problem { throw GraphError(problem) }
        let g = GraphBuilder()
        let images = g.input("image", shape: [config.channels, config.height, config.width])
        let labels = g.input("label", shape: [], element: .int32)
        let generator = config.dropout > 0 ? g.generatorState("dropout.generator") : nil
        let logits = try Self.logits(config, g, images: images, generator: generator)
        let loss = try g.mean(try g.softmaxCrossEntropy(logits: logits, labels: labels, name: "cross_entropy"), over: .all, name: "loss")
        g.output(logits)
        g.output(loss)
        self.config = config
        self.graph = try g.build()
        self.images = images
        self.labels = labels
        self.logits = logits
        self.loss = loss
        self.generator = generator
    }

    /// The model for inference: an image in, class logits out, no dropout, with the training
    /// graph's parameter names.
    public static func inference(_ config: ViTConfig) throws(GraphError) -> (graph: Graph, images: ValueID, logits: ValueID) {
        if let problem = config.problem { throw GraphError(problem) }
        let g = GraphBuilder()
        let images = g.input("image", shape: [config.channels, config.height, config.width])
        let logits = try logits(config, g, images: images, generator: nil)
        g.output(logits)
        return (try g.build(), images, logits)
    }

    private static func logits(_ config: ViTConfig, _ g: GraphBuilder, images: ValueID, generator: ValueID?) throws(GraphError) -> ValueID {
        let (p, c, t) = (config.patch, config.features, config.positions)
        let layers = TransformerLayers(g: g, width: c, heads: config.heads, biases: true, causal: false,
                                       dropout: config.dropout, generator: generator)
        // [features, H/p, W/p] → [features, T] → [T, features].
        let embedded = try g.conv2d(images, Conv2DSpec(filters: c, kernel: (p, p), stride: (p, p)), name: "patch_embed")
        let rows = try g.transpose(try g.reshape(embedded, to: [c, t], name: "patch_embed.flat"), name: "patch_embed.rows")
        let positions = g.parameter("transformer.wpe.weight", shape: [t, c])
        var x = try layers.drop(try g.add(rows, positions, name: "embed.positions"), "embed.dropout")
        for i in 0..<config.layers { x = try layers.block(x, "transformer.h.\(i)") }
        // Mean over the T rows: [1, T, features] pooled by a T×1 window.
        let normed = try g.reshape(try layers.norm(x, "transformer.ln_f"), to: [1, t, c], name: "pool.image")
        let pooled = try g.reshape(try g.avgPool2d(normed, PoolSpec(window: (t, 1)), name: "pool"), to: [c], name: "pool.flat")
        return try layers.linear(pooled, "head", outputs: config.classes)
    }
}
