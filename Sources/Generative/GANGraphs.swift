import Graph

/// A GAN's generator as a graph: z [latent] through dense (+ batch norm) + ReLU layers to a dense + sigmoid
/// output of the image's pixels in [0, 1]. Parameter names are `generator.fcN.weight`/`.bias`.
public struct GeneratorGraph: Sendable {
    public let graph: Graph
    public let latent: ValueID
    /// [pixels] for training; the inference graph reshapes it to [channels, height, width].
    public let image: ValueID

    public init(_ config: GANConfig, inference: Bool = false) throws(GraphError) {
        let g = GraphBuilder()
        latent = g.input("z", shape: [config.latent])
        var x = latent
        for (i, width) in config.generatorHidden.enumerated() {
            x = try g.dense(x, outputs: width, name: "generator.fc\(i + 1)")
            if config.generatorBatchNorm { x = try g.batchNorm(x, name: "generator.bn\(i + 1)") }
            x = try g.relu(x)
        }
        x = try g.sigmoid(try g.dense(x, outputs: config.pixels, name: "generator.fc\(config.generatorHidden.count + 1)"), name: "generator.pixels")
        if inference { x = try g.reshape(x, to: [config.channels, config.height, config.width], name: "generator.image") }
        image = x
        g.output(x)
        graph = try g.build()
    }
}

/// A GAN's discriminator (or Wasserstein critic) as a graph: an image's pixels [pixels] through
/// dense + leaky ReLU (slope 0.2) layers, each optionally followed by dropout, to one raw score. Names `discriminator.fcN.*`.
public struct DiscriminatorGraph: Sendable {
    public let graph: Graph
    public let image: ValueID
    public let score: ValueID
    /// The dropout generator's state (nil without dropout).
    public let dropoutGenerator: ValueID?

    public init(_ config: GANConfig) throws(GraphError) {
        let g = GraphBuilder()
        image = g.input("x", shape: [config.pixels])
        dropoutGenerator = config.discriminatorDropout > 0 ? g.generatorState("discriminator.dropout.generator") : nil
        var x = image
        for (i, width) in config.discriminatorHidden.enumerated() {
            x = try g.leakyReLU(try g.dense(x, outputs: width, name: "discriminator.fc\(i + 1)"), slope: 0.2)
            if let generator = dropoutGenerator { x = try g.dropout(x, rate: config.discriminatorDropout, generator: generator) }
        }
        score = try g.dense(x, outputs: 1, name: "discriminator.fc\(config.discriminatorHidden.count + 1)")
        g.output(score)
        graph = try g.build()
    }
}
