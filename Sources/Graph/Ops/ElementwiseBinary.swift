/// The shared machinery of add, sub, mul and div: shape rule with broadcasting, forward, and a
/// backward that sums a broadcast operand's gradient over the positions it was repeated at.
///
/// Broadcasting: the operands have the same type, or one of them (the "smaller") has a shape that
/// is a suffix of the other's and is unbatched or batched alike. So a row (a bias [n] against
/// [batch, n]), a scalar parameter ([] against anything) and a per-sample scalar ([batch] against
/// [batch]) all broadcast; per-sample values against a different batched shape broadcast only
/// along trailing dimensions.
protocol ElementwiseBinary: Operator {
    static func apply(_ a: Float, _ b: Float) -> Float
    /// (∂f/∂a, ∂f/∂b) at (a, b).
    static func partials(_ a: Float, _ b: Float) -> (Float, Float)
}

extension ElementwiseBinary {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 2 else { throw ShapeError("takes 2 inputs, got \(inputs.count)") }
        return [try broadcastType(inputs[0], inputs[1])]
    }

    static func forward(_ node: NodeRun) {
        let layout = BinaryLayout(node)
        let a = node.input(0), b = node.input(1), y = node.output(0)
        for block in 0..<layout.blocks {
            let pa = a + layout.offsetA(block), pb = b + layout.offsetB(block), py = y + block * layout.inner
            for j in 0..<layout.inner { py[j] = apply(pa[j], pb[j]) }
        }
    }

    static func backward(_ node: NodeRun) {
        guard let dy = node.outputGradient(0) else { return }
        let layout = BinaryLayout(node)
        let a = node.input(0), b = node.input(1)
        let da = node.inputGradient(0), db = node.inputGradient(1)
        for block in 0..<layout.blocks {
            let oa = layout.offsetA(block), ob = layout.offsetB(block), pdy = dy + block * layout.inner
            for j in 0..<layout.inner {
                let (ga, gb) = partials(a[oa + j], b[ob + j])
                da?[oa + j] += pdy[j] * ga
                db?[ob + j] += pdy[j] * gb
            }
        }
    }
}

/// The output type of a broadcasting binary op, or why the operands do not line up.
func broadcastType(_ a: TensorType, _ b: TensorType) throws(ShapeError) -> TensorType {
    guard a.element == .float32, b.element == .float32 else { throw ShapeError("operands must be float32") }
    if a == b { return a }
    func fits(_ small: TensorType, into big: TensorType) -> Bool {
        small.shape.count <= big.shape.count && Array(big.shape.suffix(small.shape.count)) == small.shape
            && (big.isBatched || !small.isBatched)
    }
    if fits(b, into: a) { return a }
    if fits(a, into: b) { return b }
    throw ShapeError("shapes do not broadcast (one must be a trailing part of the other)")
}

/// How a binary op's operands map onto its output: the output in blocks of `inner` elements (the
/// broadcast operand's size, or all of it), and each operand's offset for a block.
struct BinaryLayout {
    let blocks: Int
    let inner: Int
    private let perSample: Int
    private let strideA: Int, strideB: Int
    private let broadcastA: Bool, broadcastB: Bool

    init(_ node: NodeRun) {
        let out = node.outputTypes[0], ta = node.inputTypes[0], tb = node.inputTypes[1]
        broadcastA = ta != out
        broadcastB = tb != out
        let count = out.count(rows: node.rows)
        inner = broadcastA ? ta.elementsPerSample : broadcastB ? tb.elementsPerSample : max(count, 1)
        blocks = count / inner
        perSample = out.elementsPerSample
        strideA = ta.isBatched ? ta.elementsPerSample : 0
        strideB = tb.isBatched ? tb.elementsPerSample : 0
    }

    @inline(__always) func offsetA(_ block: Int) -> Int {
        broadcastA ? (block * inner / perSample) * strideA : block * inner
    }
    @inline(__always) func offsetB(_ block: Int) -> Int {
        broadcastB ? (block * inner / perSample) * strideB : block * inner
    }
}
