import LowLevel
import ModelFile

/// Decoding a causal sequence model one position at a time with a key/value cache.
///
/// In a model whose every step works row by row (embedding, additions, layer norm, products with
/// a weight, column slices, element-wise functions) except causal attention, row t of every value
/// depends only on rows ≤ t of the input. So position t needs only row t of each step, and
/// attention needs the keys and values of rows ≤ t: each attention step copies its row of k and v
/// into its cache and attends over the cache (`Kernels.attentionRow`: the whole-window kernel's
/// result up to rounding, since that kernel sums in another order). Row t of the other values lives in the planned buffers; rows < t there are
/// stale, since the plan shares bytes between values, and nothing reads them.
///
/// A token then costs one row of every product (a matrix-vector product through `Kernels.gemm`)
/// and attention over the positions so far, against the whole window's T rows. Its logits equal
/// the whole window's up to the products' rounding (OpenBLAS's T-row kernel sums in another
/// order than the one-row product): within about 1e-6 relative, checked by the tests.
extension RuntimeModel {
    /// Whether `file` is a sequence model that can be decoded by position: token input, causal
    /// attention, and only steps that work row by row on [T, ·] values.
    static func decodesByPosition(_ file: ModelFile) -> Bool {
        guard let graph = file.graph, file.inputIsTokens else { return false }
        let t = file.inputLength
        for i in 0..<file.layerCount {
            let node = file.node(i)
            let x = file.value(node.input(0)), y = file.value(node.output(0))
            guard y.count % t == 0, node.input(0) == graph.inputValue || x.count % t == 0 else { return false }
            switch node.op {
            case .embedding, .layerNorm, .slice, .gelu, .relu, .elu, .sigmoid, .tanh, .reshape:
                continue
            case .matmul:
                let w = file.value(node.input(1)), k = file.argument(node, "transposeB")?.int(0) == 1 ? w.dims.1 : w.dims.0
                guard x.count / t == k else { return false }
            case .add:
                // Row by row: a second [T, ·] value, or one row added to each.
                let second = file.value(node.input(1)).count
                guard second == y.count || second == y.count / t else { return false }
            case .attention:
                guard file.argument(node, "causal")?.int(0) == 1 else { return false }
            default:
                return false
            }
        }
        return file.outputLength % t == 0
    }

    /// Floats of node i's key/value cache in a model decoded by position: [T, D] keys and
    /// [T, D] values for an attention node, nil for the others.
    static func cacheFloats(_ file: ModelFile, node i: Int) -> Int? {
        file.node(i).op == .attention ? 2 * file.value(file.node(i).input(1)).count : nil
    }

    /// Row `id` of an embedding table of `rows` rows, or a row of NaN for an id outside it (as
    /// the graph's op).
    static func embed(_ id: Int32, table: UnsafePointer<Float>, rows: Int, width: Int, into out: UnsafeMutablePointer<Float>) {
        if id >= 0 && Int(id) < rows { out.update(from: table + Int(id) * width, count: width) } else { out.update(repeating: .nan, count: width) }
    }

    /// Runs row `position` of every step, the cache holding the keys and values of the rows
    /// before it, and returns that row's logits (inside the output buffer).
    /// - Precondition: the model decodes by position and positions 0 ..< `position` ran since the
    ///   cache was last cleared.
    func forward(position t: Int) -> UnsafeMutablePointer<Float> {
        forward(row: t, nodes: 0..<file.layerCount, keysInWindow: false)
    }

    /// Runs row `t` of steps `nodes` and returns that row's logits. Attention reads the keys and
    /// values of rows ≤ t from its cache (each step first storing row t's), or with
    /// `keysInWindow` from its k and v inputs, which then hold every row ≤ t (a pass over the
    /// window ran the steps before).
    func forward(row t: Int, nodes: Range<Int>, keysInWindow: Bool) -> UnsafeMutablePointer<Float> {
        let s = sequence!, length = s.context
        for i in nodes {
            let layer = layers[i]
            let inRow = layer.inputs / length, outRow = layer.outputs / length
            let x = layer.x.map { UnsafePointer($0) + t * inRow }, out = layer.y! + t * outRow
            switch layer.kind {
            case .embedding:
                Self.embed(s.window[t], table: layer.weight!, rows: layer.k, width: layer.spatial, into: out)
            case .add:
                let x2 = layer.spatial == layer.outputs ? UnsafePointer(layer.x2!) + t * outRow : UnsafePointer(layer.x2!)
                Kernels.add(x!, x2, into: out, count: outRow)
            case .layerNorm:
                Kernels.layerNorm(x!, gamma: layer.weight!, beta: layer.bias!, rows: 1, width: layer.spatial, epsilon: layer.epsilon,
                                  into: out, mean: nil, inverseStd: nil)
            case .matmul:
                let (k, n, transposed) = layer.product
                Kernels.gemm(.none, transposed ? .transposed : .none, m: 1, n: n, k: k, alpha: 1, a: x!, lda: k,
                             b: layer.weight!, ldb: transposed ? k : n, beta: 0, c: out, ldc: n)
            case .slice:
                out.update(from: x! + layer.columns.start, count: layer.columns.count)
            case .attention:
                let d = layer.spatial
                let keys = keysInWindow ? layer.x2! : layer.cache!, values = keysInWindow ? layer.x3! : keys + length * d
                if !keysInWindow {
                    (keys + t * d).update(from: UnsafePointer(layer.x2!) + t * d, count: d)
                    (values + t * d).update(from: UnsafePointer(layer.x3!) + t * d, count: d)
                }
                for h in 0..<layer.attention.heads {
                    Kernels.attentionRow(q: x!, keys: keys, values: values, visible: t + 1, width: d, heads: layer.attention.heads,
                                         head: h, weights: attentionWeights!, into: out)
                }
            case .activation:
                layer.activation.apply(x!, into: out, count: outRow)
            case .gelu:
                Kernels.gelu(x!, into: out, count: outRow)
            case .copy:
                if x! != UnsafePointer(out) { out.update(from: x!, count: outRow) }
            case .dense, .conv2d, .maxPool, .averagePool, .channelAffine, .kernel, .pairwiseVote, .nearestNeighbours, .transpose,
                 .mul, .sub, .exp, .neg, .log, .square, .sum, .concat, .upsample, .addPerChannel:
                preconditionFailure("not a step of a model decoded by position")
            }
        }
        return outputSlot + t * (outputLength / length)
    }
}
