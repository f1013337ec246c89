import Graph

/// The shape of a character GPT (nanoGPT's model): vocabulary, blocks, heads, width, context.
public struct GPTConfig: Codable, Sendable, Equatable {
    public var vocabulary: Int
    public var layers: Int
    public var heads: Int
    public var width: Int
    public var context: Int
    /// Learned positions (`transformer.wpe.weight`, nanoGPT's) or the course's fixed sinusoids.
    public var sinusoidalPositions = false
    /// Dropout after the embeddings, of the attention weights and on each residual branch, in
    /// training (nanoGPT's places).
    public var dropout: Float = 0
    /// Biases in the linear layers and layer norms (nanoGPT's model has them; its `train.py`
    /// trains without, `bias = False`).
    public var biases = true
    /// What it learns: the next token at every position (GPT, causal attention), or BERT's
    /// masked tokens (an encoder: attention sees the whole window, and the loss counts only the
    /// chosen positions; the vocabulary's last id is the mask token).
    public var objective: Objective = .nextToken

    public enum Objective: String, Codable, Sendable {
        case nextToken = "next"
        case maskedTokens = "mlm"
    }

    public init(vocabulary: Int, layers: Int, heads: Int, width: Int, context: Int, sinusoidalPositions: Bool = false) {
        self.vocabulary = vocabulary
        self.layers = layers
        self.heads = heads
        self.width = width
        self.context = context
        self.sinusoidalPositions = sinusoidalPositions
    }

    /// Why the shape cannot be built, or nil.
    public var problem: String? {
        if vocabulary < 2 { return "a vocabulary needs at least 2 tokens" }
        if layers < 1 || heads < 1 || width < 1 || context < 1 { return "layers, heads, width and context must be positive" }
        if width % heads != 0 { return "--heads \(heads) must divide --width \(width)" }
        if sinusoidalPositions && width % 2 != 0 { return "sinusoidal positions need an even --width" }
        if !(dropout >= 0 && dropout < 1) { return "dropout must be in [0, 1), not \(dropout)" }
        return nil
    }
}

/// A GPT as a graph in nanoGPT's layout and with its parameter names, so PyTorch weights load by
/// name: token and learned position embeddings, `layers` pre-norm blocks
/// (x + c_proj(attention(ln_1(x))), then x + mlp.c_proj(gelu(mlp.c_fc(ln_2(x))))), a final layer
/// norm, and the output head tied to the token embedding (logits = ln_f(x)·wteᵀ). Linear weights
/// are `nn.Linear`'s [out, in]. The loss is the mean cross-entropy over every position (or, for
/// the masked-token objective, over the chosen positions).
public struct GPTGraph: Sendable {
    public let config: GPTConfig
    public let graph: Graph
    /// Token ids [batch, T] and the next tokens [batch, T] (int32).
    public let tokens: ValueID
    public let targets: ValueID
    /// [batch, T, vocabulary].
    public let logits: ValueID
    /// The batch's mean cross-entropy (unbatched scalar).
    public let loss: ValueID
    /// Dropout's generator state, when `dropout` > 0.
    public let generator: ValueID?
    /// The masked-token objective's weights [batch, T]: 1/(positions chosen in the batch) where a
    /// position counts, 0 elsewhere, so the loss is the chosen positions' mean cross-entropy.
    public let weights: ValueID?

    public init(_ config: GPTConfig) throws(GraphError) {
        if let problem = config.problem { throw GraphError(problem) }
        let g = GraphBuilder()
        let tokens = g.input("tokens", shape: [config.context], element: .int32)
        let targets = g.input("targets", shape: [config.context], element: .int32)
        let masked = config.objective == .maskedTokens
        let weights = masked ? g.input("weights", shape: [config.context]) : nil
        let generator = config.dropout > 0 ? g.generatorState("dropout.generator") : nil
        let logits = try Self.logits(config, g, tokens: tokens, generator: generator)
        let crossEntropy = try g.softmaxCrossEntropy(logits: logits, labels: targets, name: "cross_entropy")
        let loss: ValueID
        if let weights {
            loss = try g.sum(try g.mul(crossEntropy, weights, name: "masked"), over: .all, name: "loss")
        } else {
            loss = try g.mean(crossEntropy, over: .all, name: "loss")
        }
        g.output(logits)
        g.output(loss)
        self.config = config
        self.graph = try g.build()
        self.tokens = tokens
        self.targets = targets
        self.logits = logits
        self.loss = loss
        self.generator = generator
        self.weights = weights
    }

    /// The model for inference: token ids [T] in, logits [T, vocabulary] out, no dropout, with
    /// the training graph's parameter names (what a model file holds).
    public static func inference(_ config: GPTConfig) throws(GraphError) -> (graph: Graph, tokens: ValueID, logits: ValueID) {
        if let problem = config.problem { throw GraphError(problem) }
        let g = GraphBuilder()
        let tokens = g.input("tokens", shape: [config.context], element: .int32)
        let logits = try logits(config, g, tokens: tokens, generator: nil)
        g.output(logits)
        return (try g.build(), tokens, logits)
    }

    /// Embeddings, the blocks, the final norm and the tied head: logits [T, vocabulary].
    private static func logits(_ config: GPTConfig, _ g: GraphBuilder, tokens: ValueID, generator: ValueID?) throws(GraphError) -> ValueID {
        let (t, c) = (config.context, config.width)
        let layers = TransformerLayers(g: g, width: c, heads: config.heads, biases: config.biases,
                                       causal: config.objective != .maskedTokens, dropout: config.dropout, generator: generator)
        let wte = g.parameter("transformer.wte.weight", shape: [config.vocabulary, c])
        let positions = config.sinusoidalPositions ? try g.sinusoidalPositions(positions: t, width: c, name: "transformer.positions")
            : g.parameter("transformer.wpe.weight", shape: [t, c])
        var x = try layers.drop(try g.add(try g.embedding(tokens, table: wte, name: "embed"), positions, name: "embed.positions"), "embed.dropout")
        for i in 0..<config.layers { x = try layers.block(x, "transformer.h.\(i)") }
        return try g.matmul(try layers.norm(x, "transformer.ln_f"), wte, transposeB: true, name: "lm_head")
    }
}
