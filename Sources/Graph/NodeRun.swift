/// One node bound to its memory: what an op's forward and backward see. Built once by the
/// executor; a pass only updates `rows`.
///
/// The pointers are into the executor's planned block and valid while the executor lives. Counts
/// are for the current `rows` (batched values) or fixed (unbatched ones).
public final class NodeRun {
    public let name: String
    public let attributes: Attributes
    public let inputTypes: [TensorType]
    public let outputTypes: [TensorType]
    /// Samples in the current pass.
    public internal(set) var rows: Int = 0
    /// The most samples a pass may hold (what the buffers were planned for).
    public let maxBatch: Int
    /// Whether the pass is a training one (batch statistics, dropout).
    public internal(set) var isTraining = false
    /// Whether this backward adds to parameter gradients instead of replacing them.
    var accumulatesParameterGradients = false
    /// Plain SGD applied during this backward (`GraphExecutor.backward(from:gradient:sgd:)`).
    var sgdLearningRate: Float = 0
    var sgdWeightDecay: Float = 0
    var sgdActive = false
    /// Per input: whether the op may fuse SGD for it (a parameter only this node reads), and
    /// whether weight decay applies to it.
    let sgdFusable: [Bool]
    var sgdDecays: [Bool]

    var inputPointers: [UnsafeMutableRawPointer]
    let outputPointers: [UnsafeMutableRawPointer]
    let inputGradientPointers: [UnsafeMutablePointer<Float>?]
    let outputGradientPointers: [UnsafeMutablePointer<Float>?]
    let bufferPointers: [UnsafeMutableRawPointer]
    /// Per input: whether this node writes its gradient first (see `Operator.overwritesGradients`),
    /// and whether that input is a parameter (then only when not accumulating).
    let firstWriter: [Bool]
    let readsParameter: [Bool]

    init(name: String, maxBatch: Int, attributes: Attributes, inputTypes: [TensorType], outputTypes: [TensorType],
         inputs: [UnsafeMutableRawPointer], outputs: [UnsafeMutableRawPointer],
         inputGradients: [UnsafeMutablePointer<Float>?], outputGradients: [UnsafeMutablePointer<Float>?],
         buffers: [UnsafeMutableRawPointer], firstWriter: [Bool], readsParameter: [Bool], sgdFusable: [Bool]) {
        self.name = name
        self.maxBatch = maxBatch
        self.attributes = attributes
        self.inputTypes = inputTypes
        self.outputTypes = outputTypes
        self.inputPointers = inputs
        self.outputPointers = outputs
        self.inputGradientPointers = inputGradients
        self.outputGradientPointers = outputGradients
        self.bufferPointers = buffers
        self.firstWriter = firstWriter
        self.readsParameter = readsParameter
        self.sgdFusable = sgdFusable
        self.sgdDecays = Array(repeating: false, count: inputs.count)
    }

    /// When backward should update parameter input i in place by plain SGD instead of writing its
    /// gradient: the learning rate and weight decay (θ ← (1 − ηλ)θ − η·dL/dθ, with dx computed
    /// from the old θ first). Nil: write the gradient as usual.
    @inline(__always) public func fusedSGD(_ i: Int) -> (learningRate: Float, decay: Float)? {
        sgdActive && sgdFusable[i] ? (sgdLearningRate, sgdDecays[i] ? sgdWeightDecay : 0) : nil
    }

    /// Whether backward must write (=) input i's gradient rather than add to it.
    @inline(__always) public func overwrites(_ i: Int) -> Bool {
        firstWriter[i] && !(accumulatesParameterGradients && readsParameter[i])
    }

    @inline(__always) public func input(_ i: Int) -> UnsafeMutablePointer<Float> {
        inputPointers[i].assumingMemoryBound(to: Float.self)
    }
    @inline(__always) public func intInput(_ i: Int) -> UnsafeMutablePointer<Int32> {
        inputPointers[i].assumingMemoryBound(to: Int32.self)
    }
    @inline(__always) public func output(_ i: Int) -> UnsafeMutablePointer<Float> {
        outputPointers[i].assumingMemoryBound(to: Float.self)
    }
    /// Where dL/d(input i) accumulates, or nil when it is not wanted.
    @inline(__always) public func inputGradient(_ i: Int) -> UnsafeMutablePointer<Float>? { inputGradientPointers[i] }
    /// dL/d(output i), or nil when nothing downstream depends on it (zero).
    @inline(__always) public func outputGradient(_ i: Int) -> UnsafeMutablePointer<Float>? { outputGradientPointers[i] }
    /// dL/d(output 0), or nil when nothing downstream depends on it; then, if this node writes
    /// input i's gradient first, that gradient (`count` elements) is zeroed, as the op would have
    /// written it.
    @inline(__always) public func outputGradientOrClearing(input i: Int, count: Int) -> UnsafeMutablePointer<Float>? {
        if let dy = outputGradientPointers[0] { return dy }
        if overwrites(i), let dx = inputGradientPointers[i] { dx.update(repeating: 0, count: count) }
        return nil
    }

    /// The op's k-th `BufferRequest`.
    @inline(__always) public func buffer(_ k: Int) -> UnsafeMutableRawPointer { bufferPointers[k] }
    @inline(__always) public func floatBuffer(_ k: Int) -> UnsafeMutablePointer<Float> {
        bufferPointers[k].assumingMemoryBound(to: Float.self)
    }

    /// Elements of input i in this pass.
    @inline(__always) public func inputCount(_ i: Int) -> Int { inputTypes[i].count(rows: rows) }
    /// Elements of output i in this pass.
    @inline(__always) public func outputCount(_ i: Int) -> Int { outputTypes[i].count(rows: rows) }
}
