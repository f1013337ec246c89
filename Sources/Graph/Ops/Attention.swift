import Glibc
import LowLevel

/// Multi-head scaled dot-product attention of q, k, v [batch, T, D] with `heads` heads (argument;
/// head h uses columns h·D/H ..< (h+1)·D/H): per head, y = softmax(QKᵀ/√d_head)·V, and with
/// argument `causal` = 1 position i attends only to positions j ≤ i. The per-head projections and
/// the output projection are the dense or matmul nodes around it. The attention weights
/// [heads, T, T] of each sample are saved for backward. With a fourth input, a generator state
/// (int32 [8], as `Dropout`'s), and argument `dropout` = r > 0, training drops each attention weight
/// with probability r and scales the others by 1/(1 − r) (nanoGPT's `attn_dropout`); the mask is
/// saved for backward, and evaluation uses the weights as they are. Both passes are
/// `Kernels.attention` and `Kernels.attentionBackward` per sample (AttentionKernels.swift), the C
/// runtime's kernel too.
enum Attention: Operator {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 3 || inputs.count == 4 else { throw ShapeError("takes q, k and v (and a generator state), got \(inputs.count) inputs") }
        if inputs.count == 4 {
            guard inputs[3] == TensorType([8], .int32, batched: false) else { throw ShapeError("the generator state must be int32 [8]") }
            let rate = attributes.float("dropout")
            guard rate >= 0 && rate < 1 else { throw ShapeError("dropout \(rate) is outside [0, 1)") }
        }
        let q = inputs[0]
        guard q.element == .float32, q.isBatched, q.shape.count == 2 else { throw ShapeError("q must be float32 [batch, T, D]") }
        guard inputs[1] == q, inputs[2] == q else { throw ShapeError("q, k and v must have the same shape") }
        let heads = attributes.int("heads")
        guard heads > 0, q.shape[1] % heads == 0 else { throw ShapeError("heads \(heads) must divide the width \(q.shape[1])") }
        return [q]
    }

    static func buffers(inputs: [TensorType], outputs: [TensorType], attributes: Attributes, maxBatch: Int) -> [BufferRequest] {
        let t = inputs[0].shape[0], d = inputs[0].shape[1], heads = attributes.int("heads")
        let scratch = Kernels.attentionScratch(length: t, width: d, heads: heads)
        // 0: the attention weights of every sample and head; 1 and 2: the kernels' scratch; 3: the dropout masks.
        var buffers: [BufferRequest] = [.floats(.saved, maxBatch * heads * t * t), .floats(.forward, scratch), .floats(.backward, scratch)]
        if inputs.count == 4 { buffers.append(.floats(.saved, maxBatch * heads * t * t)) }
        return buffers
    }

    /// The dropout masks of this pass's samples, drawn when training with dropout; nil otherwise.
    static func masks(_ node: NodeRun, drawing: Bool) -> UnsafeMutablePointer<Float>? {
        guard node.inputTypes.count == 4, node.isTraining else { return nil }
        let rate = node.attributes.float("dropout")
        guard rate > 0 else { return nil }
        let masks = node.floatBuffer(3)
        if drawing {
            let t = node.inputTypes[0].shape[0], heads = node.attributes.int("heads"), keep = 1 / (1 - rate)
            let random = UnsafeMutableRawPointer(node.input(3)).assumingMemoryBound(to: RandomGenerator.self)
            for i in 0..<(node.rows * heads * t * t) { masks[i] = random.pointee.nextUniform() < rate ? 0 : keep }
        }
        return masks
    }

    static var overwritesGradients: Bool { true }

    static func forward(_ node: NodeRun) {
        let t = node.inputTypes[0].shape[0], d = node.inputTypes[0].shape[1], heads = node.attributes.int("heads")
        let causal = node.attributes.int("causal") != 0, weights = node.floatBuffer(0), masks = masks(node, drawing: true)
        for n in 0..<node.rows {
            let base = n * t * d
            Kernels.attention(q: node.input(0) + base, k: node.input(1) + base, v: node.input(2) + base, length: t, width: d,
                              heads: heads, causal: causal, weights: weights + n * heads * t * t, scratch: node.floatBuffer(1),
                              dropMask: masks.map { UnsafePointer($0 + n * heads * t * t) }, into: node.output(0) + base)
        }
    }

    static func backward(_ node: NodeRun) {
        guard let dy = node.outputGradient(0) else { return }
        let t = node.inputTypes[0].shape[0], d = node.inputTypes[0].shape[1], heads = node.attributes.int("heads")
        let causal = node.attributes.int("causal") != 0, weights = node.floatBuffer(0), masks = masks(node, drawing: false)
        let dq = node.inputGradient(0), dk = node.inputGradient(1), dv = node.inputGradient(2)
        let count = node.rows * t * d
        if let dq, node.overwrites(0) { dq.update(repeating: 0, count: count) }
        if let dk, node.overwrites(1) { dk.update(repeating: 0, count: count) }
        if let dv, node.overwrites(2) { dv.update(repeating: 0, count: count) }
        for n in 0..<node.rows {
            let base = n * t * d
            Kernels.attentionBackward(q: node.input(0) + base, k: node.input(1) + base, v: node.input(2) + base,
                                      weights: weights + n * heads * t * t, outputGradient: dy + base, length: t, width: d,
                                      heads: heads, causal: causal, scratch: node.floatBuffer(2),
                                      dropMask: masks.map { UnsafePointer($0 + n * heads * t * t) }, dq: dq.map { $0 + base }, dk: dk.map { $0 + base }, dv: dv.map { $0 + base })
        }
    }
}

extension GraphBuilder {
    /// Scaled dot-product attention over `heads` heads of q, k, v [batch, T, D].
    /// With `generator` (a `generatorState`) and `dropout` > 0, training drops attention weights.
    public func attention(q: ValueID, k: ValueID, v: ValueID, heads: Int, causal: Bool, dropout: Float = 0, generator: ValueID? = nil,
                          name: String? = nil) throws(GraphError) -> ValueID {
        var attributes = Attributes(["heads": .int(heads)])
        if causal { attributes["causal"] = .int(1) }
        guard let generator, dropout > 0 else { return try apply1(.attention, [q, k, v], attributes: attributes, name: name) }
        attributes["dropout"] = .float(dropout)
        return try apply1(.attention, [q, k, v, generator], attributes: attributes, name: name)
    }
}
