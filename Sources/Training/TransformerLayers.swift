import Graph

/// Builds the parts of a pre-norm transformer into a graph with nanoGPT's parameter names, for
/// the GPT and the vision transformer: linear layers (`name.weight` [out, in], `name.bias`),
/// layer norms, dropout (of the attention weights and on each residual branch), and blocks x + c_proj(attention(ln_1(x))), then
/// x + mlp.c_proj(gelu(mlp.c_fc(ln_2(x)))).
struct TransformerLayers {
    let g: GraphBuilder
    let width: Int
    let heads: Int
    /// Biases in the linear layers and layer norms (without them, layer norms are γ only).
    let biases: Bool
    /// Attention sees only earlier positions.
    let causal: Bool
    let dropout: Float
    /// Dropout's generator state; nil for none (inference).
    let generator: ValueID?

    /// y = x·Wᵀ + b with W [out, in] and b [out] named `name.weight` and `name.bias`.
    func linear(_ x: ValueID, _ name: String, outputs: Int) throws(GraphError) -> ValueID {
        let w = g.parameter("\(name).weight", shape: [outputs, g.type(of: x).shape.last!])
        guard biases else { return try g.matmul(x, w, transposeB: true, name: name) }
        let b = g.parameter("\(name).bias", shape: [outputs])
        return try g.add(try g.matmul(x, w, transposeB: true, name: "\(name).product"), b, name: name)
    }

    /// Layer norm; without biases, β is a constant 0 (γ only, as nanoGPT's `LayerNorm(bias=False)`).
    func norm(_ x: ValueID, _ name: String) throws(GraphError) -> ValueID {
        guard !biases else { return try g.layerNorm(x, name: name) }
        let gamma = g.parameter("\(name).weight", shape: [width])
        return try g.apply(.layerNorm, [x, gamma, try g.constant(0, shape: [width], name: "\(name).zero_bias")], name: name)[0]
    }

    func drop(_ x: ValueID, _ name: String) throws(GraphError) -> ValueID {
        guard let generator else { return x }
        return try g.dropout(x, rate: dropout, generator: generator, name: name)
    }

    /// One block on x [batch, T, width], its names under `prefix` (nanoGPT's `transformer.h.N`).
    func block(_ x: ValueID, _ prefix: String) throws(GraphError) -> ValueID {
        let c = width
        let qkv = try linear(try norm(x, "\(prefix).ln_1"), "\(prefix).attn.c_attn", outputs: 3 * c)
        let q = try g.slice(qkv, columns: 0..<c, name: "\(prefix).attn.q")
        let k = try g.slice(qkv, columns: c..<2 * c, name: "\(prefix).attn.k")
        let v = try g.slice(qkv, columns: 2 * c..<3 * c, name: "\(prefix).attn.v")
        let attended = try g.attention(q: q, k: k, v: v, heads: heads, causal: causal, dropout: dropout, generator: generator,
                                       name: "\(prefix).attn.core")
        let x1 = try g.add(x, try drop(try linear(attended, "\(prefix).attn.c_proj", outputs: c), "\(prefix).attn.dropout"), name: "\(prefix).residual1")
        let hidden = try g.gelu(try linear(try norm(x1, "\(prefix).ln_2"), "\(prefix).mlp.c_fc", outputs: 4 * c), name: "\(prefix).mlp.gelu")
        return try g.add(x1, try drop(try linear(hidden, "\(prefix).mlp.c_proj", outputs: c), "\(prefix).mlp.dropout"), name: "\(prefix).residual2")
    }
}
