import Glibc
import ModelFile
import CPNG
import LowLevel

/// A model opened for inference, living entirely inside a caller-owned arena: this header, the
/// layer list, activation buffers and, for image models, the PNG decoder's memory. Weights stay
/// in the caller's model bytes. `run` and `classifyPNG` allocate nothing.
///
/// One `RuntimeModel` must not be used from two threads at once (its buffers are shared between
/// calls); separate models in separate arenas may run concurrently.
public struct RuntimeModel {
    /// Limits for PNG input, checked from the header before any image data is decoded.
    public static let maxImageWidth = 1024
    public static let maxImageHeight = 1024
    /// libpng's working memory (structures, zlib window, row buffers); the decoder's peak for the
    /// largest permitted image is about 60 KiB (see the PNG tests), so this leaves room.
    public static let pngHeapBytes = 256 * 1024
    /// Read buffer for `classifyPNG(path:)`.
    public static let pngReadBufferBytes = 64 * 1024
    /// The MNIST preparation fits a digit's bounding box in 20x20 of a 28x28 input.
    public static let digitBoxFraction = 20.0 / 28.0

    static let marker: UInt64 = 0x3130_4D52_4645_4E49 // "INFERM01"

    /// What one step computes: version 1's layer kinds plus the graph ops that have no layer.
    enum Operation {
        case dense, activation, conv2d, maxPool, averagePool, channelAffine, kernel, pairwiseVote, nearestNeighbours
        /// y = x + x2 (a residual connection), x·x2, x − x2: each input of the output's length, one
        /// element, or one row of its last dimension.
        case add, mul, sub
        /// Element-wise exp, −x, log, x²; the sum of every element.
        case exp, neg, log, square, sum
        /// A U-Net's: x and x2 joined along the first dimension, nearest-neighbour upsampling, one
        /// value of x2 per channel added over x.
        case concat, upsample, addPerChannel
        /// y = x, when the plan gives them different bytes (a reshape).
        case copy
        /// The transformer's: token embedding, layer norm, a product with a weight, a column
        /// slice, multi-head attention, GELU.
        case embedding, layerNorm, matmul, slice, attention, gelu, transpose

        init(_ kind: ModelFormat.LayerKind) {
            switch kind {
            case .dense: self = .dense
            case .activation: self = .activation
            case .conv2d: self = .conv2d
            case .maxPool: self = .maxPool
            case .averagePool: self = .averagePool
            case .channelAffine: self = .channelAffine
            case .kernel: self = .kernel
            case .pairwiseVote: self = .pairwiseVote
            case .nearestNeighbours: self = .nearestNeighbours
            }
        }
    }

    /// One step of the forward pass: a version-1 layer or a version-2 node, bound to its memory.
    struct Layer {
        var kind: Operation
        var activation: ActivationKind
        var inputs: Int
        var outputs: Int
        /// Where it reads (nil: the model's input, wherever the call passes it), a second input
        /// (add), and where it writes; all inside the arena.
        var x: UnsafeMutablePointer<Float>? = nil
        var x2: UnsafeMutablePointer<Float>? = nil
        var y: UnsafeMutablePointer<Float>? = nil
        /// A ReLU applied to a convolution's output (version 2's conv2d `relu` argument).
        var relu = false
        /// Attention's v.
        var x3: UnsafeMutablePointer<Float>? = nil
        /// Attention in a sequence model decoded position by position: the keys [T, D] seen so
        /// far, then the values [T, D] (`RuntimeModel+Decoding`).
        var cache: UnsafeMutablePointer<Float>? = nil
        /// Layer norm's ε; a product's K, N and whether W is stored [N, K]; a slice's first column,
        /// columns and the input's width; attention's heads, causal mask and sequence length.
        var epsilon: Float = 0
        var product: (k: Int, n: Int, transposed: Bool) = (0, 0, false)
        var columns: (start: Int, count: Int, width: Int) = (0, 0, 0)
        var attention: (heads: Int, causal: Bool, length: Int) = (0, false, 0)
        /// Upsampling's planes, their height and width, and the factor.
        var upsample: (planes: Int, height: Int, width: Int, factor: Int) = (0, 0, 0, 0)
        var weight: UnsafePointer<Float>?
        var bias: UnsafePointer<Float>?
        var conv: ConvGeometry?
        var pool: (spec: PoolSpec, input: Shape3, output: Shape3)?
        var spatial: Int = 1
        /// Kernel and neighbour layers: stored points and, for neighbours, their targets.
        var points: UnsafePointer<Float>? = nil
        var targets: UnsafePointer<Float>? = nil
        var pointCount: Int = 0
        var kernel: KernelFunction = .linear
        var k: Int = 0
        var metric: DistanceMetric = .l2
        var neighbourMode: ModelFormat.NeighbourModeCode = .classify
        var sigma: Float = 0
        /// Convolutions vectorised across filters: their weights as [taps, filters], in the arena.
        var transposed: UnsafePointer<Float>? = nil
    }

    /// Scratch for PNG input; all pointers into the arena.
    struct ImageScratch {
        var heap: cpng_heap
        var pixels: UnsafeMutablePointer<UInt8>
        var rows: UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>
        var readBuffer: UnsafeMutablePointer<UInt8>
        /// The preparation's horizontal pass: `maxImageHeight × (boxSide + 2)` floats.
        var lines: UnsafeMutablePointer<Float>
        var boxSide: Int
    }

    var marker: UInt64
    public let file: ModelFile
    var layers: UnsafeMutablePointer<Layer>
    /// Where a prepared PNG goes (the input's bytes), and where the last step writes.
    var inputSlot: UnsafeMutablePointer<Float>
    var outputSlot: UnsafeMutablePointer<Float>
    /// A model with an exact density: where its input is copied and where −log p lands.
    var densitySlots: (input: UnsafeMutablePointer<Float>, nll: UnsafeMutablePointer<Float>)? = nil
    /// A diffusion model: where the timestep's embedding goes before each pass.
    var diffusionTime: UnsafeMutablePointer<Float>? = nil
    var sparseIndices: UnsafeMutablePointer<Int32>?
    var sparseValues: UnsafeMutablePointer<Float>?
    var columns: UnsafeMutablePointer<Float>?
    var attentionWeights: UnsafeMutablePointer<Float>?
    var neighbourDistances: UnsafeMutablePointer<Float>?
    var neighbourIndices: UnsafeMutablePointer<Int32>?
    var localLinearScratch: UnsafeMutablePointer<Double>?
    var image: ImageScratch?
    /// Sequence models: the window of tokens and what generation needs (`RuntimeModel+Sequence`).
    var sequence: SequenceState?
    /// Generative models: the PNG writer's scratch (`RuntimeModel+Sampling`).
    var sampling: SampleScratch?
    /// Peak libpng memory seen so far (for tests and sizing).
    public internal(set) var pngHeapHighWater: Int = 0

    /// False for memory that does not hold an open model (a stale or foreign pointer may still
    /// pass by chance: this guards against NULL-like mistakes, not malice).
    public var isOpen: Bool { marker == Self.marker }

    /// Index of the largest output (the predicted class).
    public func argmax(_ output: UnsafePointer<Float>) -> Int {
        Kernels.argmax(output, count: outputLength)
    }

    public var inputLength: Int { file.inputLength }

    /// A classifier's features: the input of its final step when that step is a dense layer
    /// (LeNet's 84, an MLP's last hidden layer), valid after a run until the next. nil when the
    /// final step is something else or reads the call's input directly.
    public var finalDenseInput: (values: UnsafePointer<Float>, count: Int)? {
        let last = layers[file.layerCount - 1]
        guard last.kind == .dense, let x = last.x else { return nil }
        return (UnsafePointer(x), last.inputs)
    }
    public var outputLength: Int { file.outputLength }

    /// The geometry of step i's convolution, when it is one.
    static func convolution(_ file: ModelFile, _ i: Int) -> ConvGeometry? {
        if file.graph != nil {
            let node = file.node(i)
            return node.op == .conv2d ? file.convGeometry(node) : nil
        }
        return file.layer(i).kind == .conv2d ? convGeometry(file.layer(i)) : nil
    }

    /// Arena bytes `open` needs for `file`, exactly.
    public static func arenaBytes(for file: ModelFile) -> Int {
        var plan = ArenaPlan()
        plan.reserve(RuntimeModel.self, 1)
        plan.reserve(Layer.self, file.layerCount)
        for i in 0..<file.layerCount {
            if let g = convolution(file, i), Convolution.usesTransposedWeights(g) {
                plan.reserve(Float.self, DirectConvolution.transposedWeightCount(g))
            }
        }
        if let graph = file.graph {
            plan.reserve(UInt8.self, graph.planBytes)
        } else {
            plan.reserve(Float.self, file.maxWidth)
            plan.reserve(Float.self, file.maxWidth)
        }
        if file.maxDenseInputs > 0 {
            plan.reserve(Int32.self, file.maxDenseInputs)
            plan.reserve(Float.self, file.maxDenseInputs)
        }
        if file.maxColumns > 0 { plan.reserve(Float.self, file.maxColumns) }
        if file.maxAttention > 0 { plan.reserve(Float.self, file.maxAttention) }
        reserveSequence(file, &plan)
        reserveSampling(file, &plan)
        if file.maxNeighbours > 0 {
            plan.reserve(Float.self, file.maxNeighbours)
            plan.reserve(Int32.self, file.maxNeighbours)
        }
        if file.maxLocalLinear > 0 { plan.reserve(Double.self, NeighbourSearch.localLinearScratch(dimension: file.maxLocalLinear)) }
        if file.acceptsImages {
            let side = boxSide(height: file.inputHeight, width: file.inputWidth)
            plan.reserve(UInt8.self, pngHeapBytes)
            plan.reserve(UInt8.self, 2 * maxImageWidth * maxImageHeight)
            plan.reserve(UnsafeMutablePointer<UInt8>?.self, maxImageHeight)
            plan.reserve(UInt8.self, pngReadBufferBytes)
            plan.reserve(Float.self, maxImageHeight * (side + 2))
        }
        return plan.bytes
    }

    /// A convolution record's geometry (validated by `ModelFile`).
    static func convGeometry(_ record: ModelFile.Layer) -> ConvGeometry {
        let input = Shape3(channels: record.arg(2), height: record.arg(3), width: record.arg(4))
        let output = Shape3(channels: record.outputs / (record.arg(11) * record.arg(12)), height: record.arg(11), width: record.arg(12))
        return ConvGeometry(input: input, output: output, kernelHeight: record.arg(5), kernelWidth: record.arg(6),
                            strideY: record.arg(7), strideX: record.arg(8), padTop: record.arg(9), padLeft: record.arg(10))
    }

    static func boxSide(height: Int, width: Int) -> Int {
        max(1, Int((Double(min(height, width)) * digitBoxFraction).rounded()))
    }

    /// Lays the model out in `arena` (at least `arenaBytes(for:)` bytes, 16-byte aligned) and
    /// returns a pointer to it, valid while the arena and the model bytes are.
    public static func open(_ file: ModelFile, arena: UnsafeMutableRawPointer, length: Int) throws(InferStatus) -> UnsafeMutablePointer<RuntimeModel> {
        guard UInt(bitPattern: arena) % 16 == 0 else {
            var m = ErrorMessage(); m.append("the arena must be 16-byte aligned (malloc's alignment)")
            throw .argument
        }
        let needed = arenaBytes(for: file)
        guard length >= needed else {
            var m = ErrorMessage()
            m.append("arena too small: this model needs "); m.append(needed); m.append(" bytes, ")
            m.append(length); m.append(" were given ("); m.append(needed - length); m.append(" missing)")
            throw .arena
        }
        var cursor = ArenaCursor(base: arena)
        let model = cursor.take(RuntimeModel.self, 1)
        let layers = cursor.take(Layer.self, file.layerCount)
        let inputSlot: UnsafeMutablePointer<Float>, outputSlot: UnsafeMutablePointer<Float>
        var densitySlots: (input: UnsafeMutablePointer<Float>, nll: UnsafeMutablePointer<Float>)? = nil
        var diffusionTime: UnsafeMutablePointer<Float>? = nil
        if let graph = file.graph {
            for i in 0..<file.layerCount { (layers + i).initialize(to: node(i, of: file, cursor: &cursor)) }
            let planned = cursor.take(UInt8.self, graph.planBytes)
            func slot(_ v: Int) -> UnsafeMutablePointer<Float> {
                UnsafeMutableRawPointer(planned + file.value(v).arenaOffset).assumingMemoryBound(to: Float.self)
            }
            for i in 0..<file.layerCount {
                let node = file.node(i)
                // nil for the call's input; a parameter is read where it lies in the file.
                func reads(_ j: Int) -> UnsafeMutablePointer<Float>? {
                    let v = node.input(j)
                    if v == graph.inputValue { return nil }
                    if let t = file.value(v).tensor { return UnsafeMutablePointer(mutating: file.floats(t)) }
                    return slot(v)
                }
                layers[i].x = reads(0)
                if [.add, .mul, .sub, .attention, .concat, .addPerChannel].contains(node.op) { layers[i].x2 = reads(1) }
                if node.op == .attention { layers[i].x3 = reads(2) }
                layers[i].y = slot(node.output(0))
            }
            inputSlot = slot(graph.inputValue)
            outputSlot = slot(graph.outputValue)
            densitySlots = graph.density.map { (slot($0.input), slot($0.output)) }
            diffusionTime = graph.diffusion.map { slot($0.time) }
        } else {
            for i in 0..<file.layerCount { (layers + i).initialize(to: layer(file.layer(i), of: file, cursor: &cursor)) }
            // Layers alternate between two buffers; the first reads the call's input.
            let bufferA = cursor.take(Float.self, file.maxWidth), bufferB = cursor.take(Float.self, file.maxWidth)
            for i in 0..<file.layerCount {
                layers[i].x = i == 0 ? nil : layers[i - 1].y
                layers[i].y = i % 2 == 0 ? bufferB : bufferA
            }
            inputSlot = bufferA
            outputSlot = layers[file.layerCount - 1].y!
        }
        var indices: UnsafeMutablePointer<Int32>? = nil, values: UnsafeMutablePointer<Float>? = nil
        if file.maxDenseInputs > 0 {
            indices = cursor.take(Int32.self, file.maxDenseInputs)
            values = cursor.take(Float.self, file.maxDenseInputs)
        }
        let columns = file.maxColumns > 0 ? cursor.take(Float.self, file.maxColumns) : nil
        let attentionWeights = file.maxAttention > 0 ? cursor.take(Float.self, file.maxAttention) : nil
        let sequence = takeSequence(file, layers: layers, &cursor)
        let sampling = takeSampling(file, &cursor)
        let neighbourDistances = file.maxNeighbours > 0 ? cursor.take(Float.self, file.maxNeighbours) : nil
        let neighbourIndices = file.maxNeighbours > 0 ? cursor.take(Int32.self, file.maxNeighbours) : nil
        let localLinear = file.maxLocalLinear > 0
            ? cursor.take(Double.self, NeighbourSearch.localLinearScratch(dimension: file.maxLocalLinear)) : nil
        var image: ImageScratch? = nil
        if file.acceptsImages {
            let side = boxSide(height: file.inputHeight, width: file.inputWidth)
            let heapBase = cursor.take(UInt8.self, pngHeapBytes)
            image = ImageScratch(
                heap: cpng_heap(base: heapBase, capacity: pngHeapBytes, used: 0, high_water: 0, last_offset: 0),
                pixels: cursor.take(UInt8.self, 2 * maxImageWidth * maxImageHeight),
                rows: cursor.take(UnsafeMutablePointer<UInt8>?.self, maxImageHeight),
                readBuffer: cursor.take(UInt8.self, pngReadBufferBytes),
                lines: cursor.take(Float.self, maxImageHeight * (side + 2)), boxSide: side)
        }
        precondition(cursor.offset == needed, "arena plan and layout disagree")
        model.initialize(to: RuntimeModel(marker: marker, file: file, layers: layers, inputSlot: inputSlot, outputSlot: outputSlot, densitySlots: densitySlots,
                                          sparseIndices: indices, sparseValues: values, columns: columns, attentionWeights: attentionWeights,
                                          neighbourDistances: neighbourDistances, neighbourIndices: neighbourIndices,
                                          localLinearScratch: localLinear, image: image, sequence: sequence,
                                          sampling: sampling))
        model.pointee.diffusionTime = diffusionTime
        return model
    }

    /// A version-1 layer record as a step (its memory bound by the caller); convolutions whose
    /// kernels read transposed weights get them transposed into the arena here.
    private static func layer(_ record: ModelFile.Layer, of file: ModelFile, cursor: inout ArenaCursor) -> Layer {
        var layer = Layer(kind: Operation(record.kind), activation: .relu, inputs: record.inputs, outputs: record.outputs,
                          weight: nil, bias: nil, conv: nil, pool: nil)
        switch record.kind {
        case .dense:
            layer.weight = file.floats(record.arg(0))
            layer.bias = file.floats(record.arg(1))
        case .activation:
            layer.activation = ModelFormat.activation(code: record.arg0)!
        case .conv2d:
            layer.weight = file.floats(record.arg(0))
            layer.bias = file.floats(record.arg(1))
            bindConvolution(&layer, convGeometry(record), cursor: &cursor)
        case .maxPool, .averagePool:
            let spec = PoolSpec(window: (record.arg(3), record.arg(4)), stride: (record.arg(5), record.arg(6)))
            let input = Shape3(channels: record.arg(0), height: record.arg(1), width: record.arg(2))
            layer.pool = (spec, input, spec.output(input: input)!)
        case .channelAffine:
            layer.weight = file.floats(record.arg(0))
            layer.bias = file.floats(record.arg(1))
            layer.spatial = record.arg(3)
        case .kernel:
            layer.points = file.floats(record.arg(0))
            layer.pointCount = record.outputs
            layer.kernel = KernelFunction(code: UInt32(record.arg(1)), degree: UInt32(record.arg(2)),
                                          sigma: Float(bitPattern: UInt32(record.arg(3))))!
        case .pairwiseVote:
            layer.k = record.arg(0)
        case .nearestNeighbours:
            bindNeighbours(&layer, file, record.arg)
        }
        return layer
    }

    /// A version-2 node as a step (its memory bound by the caller).
    private static func node(_ i: Int, of file: ModelFile, cursor: inout ArenaCursor) -> Layer {
        let node = file.node(i)
        let x = file.value(node.input(0)), y = file.value(node.output(0))
        var layer = Layer(kind: .copy, activation: .relu, inputs: x.count, outputs: y.count, weight: nil, bias: nil, conv: nil, pool: nil)
        func tensor(_ j: Int) -> UnsafePointer<Float> { file.floats(file.value(node.input(j)).tensor!) }
        switch node.op {
        case .dense:
            layer.kind = .dense
            (layer.weight, layer.bias) = (tensor(1), tensor(2))
        case .relu, .elu, .sigmoid, .tanh:
            layer.kind = .activation
            layer.activation = node.op.activation!
        case .conv2d:
            layer.kind = .conv2d
            (layer.weight, layer.bias) = (tensor(1), tensor(2))
            layer.relu = file.argument(node, "relu")?.int(0) == 1
            bindConvolution(&layer, file.convGeometry(node), cursor: &cursor)
        case .maxPool2d, .avgPool2d:
            layer.kind = node.op == .maxPool2d ? .maxPool : .averagePool
            let w = file.argument(node, "window")!
            let spec = PoolSpec(window: (w.int(0), w.int(1)), stride: (w.int(2), w.int(3)))
            let input = Shape3(channels: x.dims.0, height: x.dims.1, width: x.dims.2)
            layer.pool = (spec, input, spec.output(input: input)!)
        case .channelAffine:
            layer.kind = .channelAffine
            (layer.weight, layer.bias) = (tensor(1), tensor(2))
            layer.spatial = x.count / x.dims.0
        case .reshape:
            layer.kind = .copy
        case .add, .mul, .sub:
            layer.kind = node.op == .add ? .add : node.op == .mul ? .mul : .sub
        case .exp: layer.kind = .exp
        case .neg: layer.kind = .neg
        case .log: layer.kind = .log
        case .square: layer.kind = .square
        case .sum: layer.kind = .sum
        case .concat:
            layer.kind = .concat
            layer.spatial = file.value(node.input(1)).count
        case .upsample2d:
            layer.kind = .upsample
            layer.upsample = (x.dims.0, x.dims.1, x.dims.2, file.argument(node, "factor")!.int(0))
        case .addPerChannel:
            layer.kind = .addPerChannel
            layer.k = x.dims.0
        case .kernel:
            layer.kind = .kernel
            layer.points = tensor(1)
            layer.pointCount = y.count
            layer.kernel = file.kernelFunction(node)
        case .pairwiseVote:
            layer.kind = .pairwiseVote
            layer.k = file.argument(node, "classes")!.int(0)
        case .nearestNeighbours:
            layer.kind = .nearestNeighbours
            bindNeighbours(&layer, file, file.neighbourArguments(node))
        case .embedding:
            layer.kind = .embedding
            layer.weight = tensor(1)
            layer.spatial = y.dims.1
            layer.k = file.value(node.input(1)).dims.0
        case .layerNorm:
            layer.kind = .layerNorm
            (layer.weight, layer.bias) = (tensor(1), tensor(2))
            layer.spatial = file.value(node.input(1)).dims.0
            layer.epsilon = file.argument(node, "epsilon")?.float(0) ?? 1e-5
        case .matmul:
            layer.kind = .matmul
            layer.weight = tensor(1)
            let w = file.value(node.input(1)), transposed = file.argument(node, "transposeB")!.int(0) == 1
            layer.product = transposed ? (w.dims.1, w.dims.0, true) : (w.dims.0, w.dims.1, false)
        case .transpose:
            layer.kind = .transpose
            layer.product = (x.dims.0, x.dims.1, true)
        case .slice:
            layer.kind = .slice
            let c = file.argument(node, "columns")!
            layer.columns = (c.int(0), c.int(1), ModelFile.lastDimension(x))
        case .attention:
            layer.kind = .attention
            layer.spatial = x.dims.1
            layer.attention = (file.argument(node, "heads")!.int(0), file.argument(node, "causal")!.int(0) == 1, x.dims.0)
        case .gelu:
            layer.kind = .gelu
        }
        if [.add, .mul, .sub].contains(node.op) { layer.spatial = file.value(node.input(1)).count }
        return layer
    }

    /// A convolution's geometry, and its weights transposed into the arena when its kernel reads
    /// them that way (folded once here rather than on every call).
    private static func bindConvolution(_ layer: inout Layer, _ g: ConvGeometry, cursor: inout ArenaCursor) {
        layer.conv = g
        if Convolution.usesTransposedWeights(g) {
            let t = cursor.take(Float.self, DirectConvolution.transposedWeightCount(g))
            DirectConvolution.transposeWeights(layer.weight!, g, into: t)
            layer.transposed = UnsafePointer(t)
        }
    }

    /// A nearest-neighbour step from its arguments in version 1's order (`ModelFile.neighbourArguments`).
    private static func bindNeighbours(_ layer: inout Layer, _ file: ModelFile, _ arg: (Int) -> Int) {
        layer.points = file.floats(arg(0))
        layer.targets = file.floats(arg(1))
        layer.pointCount = file.tensor(arg(1)).count
        layer.k = arg(2)
        layer.metric = DistanceMetric(code: UInt32(arg(3)))!
        layer.neighbourMode = ModelFormat.NeighbourModeCode(rawValue: UInt32(arg(4)))!
        if layer.neighbourMode == .kernelSmoothing {
            layer.kernel = KernelFunction(code: UInt32(arg(6)), degree: UInt32(arg(7)), sigma: Float(bitPattern: UInt32(arg(8))))!
        }
        layer.sigma = Float(bitPattern: UInt32(arg(9)))
    }

    /// Runs the network on `input` (inputLength floats, which may be `inputSlot`) and returns the
    /// output (outputLength floats inside the arena), with softmax applied for probability models.
    func forward(_ raw: UnsafeRawPointer) -> UnsafeMutablePointer<Float> {
        run(raw, nodes: file.graph?.mainNodes ?? 0..<file.layerCount)
        if file.outputKind == .probabilities {
            Kernels.softmaxRows(outputSlot, into: outputSlot, rows: 1, columns: outputLength)
        }
        return outputSlot
    }

    /// Runs steps `nodes` in order; `raw` is what a step reading the call's input reads.
    func run(_ raw: UnsafeRawPointer, nodes: Range<Int>) {
        let input = raw.assumingMemoryBound(to: Float.self)
        for i in nodes {
            let layer = layers[i]
            let x = layer.x.map { UnsafePointer($0) } ?? input, out = layer.y!
            switch layer.kind {
            case .dense:
                Kernels.denseOne(x, inputs: layer.inputs, outputs: layer.outputs, weight: layer.weight!, bias: layer.bias!,
                                 into: out, indices: sparseIndices, values: sparseValues)
            case .activation:
                layer.activation.apply(x, into: out, count: layer.outputs)
            case .conv2d:
                Convolution.forwardOne(x, layer.conv!, weight: layer.weight!, bias: layer.bias!, scratch: columns!, into: out,
                                  transposed: layer.transposed)
                if layer.relu { Kernels.relu(out, into: out, count: layer.outputs) }
            case .maxPool, .averagePool:
                let (spec, input, output) = layer.pool!
                Pooling.forwardOne(layer.kind == .maxPool ? .max : .average, spec, input, output, x, into: out, argmax: nil)
            case .channelAffine:
                let channels = layer.inputs / layer.spatial
                for c in 0..<channels {
                    let scale = layer.weight![c], shift = layer.bias![c]
                    for j in 0..<layer.spatial { out[c * layer.spatial + j] = x[c * layer.spatial + j] * scale + shift }
                }
            case .kernel:
                let d = layer.inputs, points = layer.points!
                for p in 0..<layer.pointCount { out[p] = layer.kernel(x, points + p * d, count: d) }
            case .pairwiseVote:
                PairwiseVote.apply(x, classes: layer.k, into: out)
            case .nearestNeighbours:
                runNeighbours(layer, x, into: out)
            case .add, .mul, .sub:
                Self.elementwise(layer.kind, x, count: layer.inputs, layer.x2.map { UnsafePointer($0) } ?? input, count: layer.spatial,
                                 into: out, count: layer.outputs)
            case .exp:
                for j in 0..<layer.outputs { out[j] = expf(x[j]) }
            case .neg:
                for j in 0..<layer.outputs { out[j] = -x[j] }
            case .log:
                for j in 0..<layer.outputs { out[j] = logf(x[j]) }
            case .square:
                for j in 0..<layer.outputs { out[j] = x[j] * x[j] }
            case .sum:
                var total: Float = 0
                for j in 0..<layer.inputs { total += x[j] }
                out[0] = total
            case .concat:
                let x2 = layer.x2.map { UnsafePointer($0) } ?? input
                out.update(from: x, count: layer.inputs)
                (out + layer.inputs).update(from: x2, count: layer.spatial)
            case .upsample:
                let (planes, h, w, f) = layer.upsample
                for p in 0..<planes {
                    for i in 0..<(h * f) {
                        let source = x + (p * h + i / f) * w, row = out + (p * h * f + i) * w * f
                        for j in 0..<(w * f) { row[j] = source[j / f] }
                    }
                }
            case .addPerChannel:
                let b = layer.x2.map { UnsafePointer($0) } ?? input, spatial = layer.inputs / layer.k
                for c in 0..<layer.k { for j in 0..<spatial { out[c * spatial + j] = x[c * spatial + j] + b[c] } }
            case .copy:
                if x != UnsafePointer(out) { out.update(from: x, count: layer.outputs) }
            case .embedding:
                // As the graph's op: a row of NaN for an id outside the vocabulary.
                let ids = raw.assumingMemoryBound(to: Int32.self)
                for t in 0..<layer.inputs { Self.embed(ids[t], table: layer.weight!, rows: layer.k, width: layer.spatial, into: out + t * layer.spatial) }
            case .layerNorm:
                Kernels.layerNorm(x, gamma: layer.weight!, beta: layer.bias!, rows: layer.inputs / layer.spatial, width: layer.spatial,
                                  epsilon: layer.epsilon, into: out, mean: nil, inverseStd: nil)
            case .matmul:
                // The graph's MatMul call, so the runtime's products are the executor's bits.
                let (k, n, transposed) = layer.product
                Kernels.gemm(.none, transposed ? .transposed : .none, m: layer.inputs / k, n: n, k: k, alpha: 1, a: x, lda: k,
                             b: layer.weight!, ldb: transposed ? k : n, beta: 0, c: out, ldc: n)
            case .transpose:
                let (m, n, _) = layer.product
                for i in 0..<m { for j in 0..<n { out[j * m + i] = x[i * n + j] } }
            case .slice:
                let (start, count, width) = layer.columns
                for r in 0..<layer.outputs / count { (out + r * count).update(from: x + r * width + start, count: count) }
            case .attention:
                let (heads, causal, t) = layer.attention
                Kernels.attention(q: x, k: layer.x2.map { UnsafePointer($0) } ?? input, v: layer.x3.map { UnsafePointer($0) } ?? input,
                                  length: t, width: layer.spatial, heads: heads, causal: causal, weights: attentionWeights!,
                                  scratch: attentionWeights! + heads * t * t, into: out)
            case .gelu:
                Kernels.gelu(x, into: out, count: layer.outputs)
            }
        }
    }

    /// a ∘ b for add, mul or sub, an input of fewer elements than the output repeating along it
    /// (one element, or one row of the last dimension).
    static func elementwise(_ kind: Operation, _ a: UnsafePointer<Float>, count m: Int, _ b: UnsafePointer<Float>, count k: Int,
                            into out: UnsafeMutablePointer<Float>, count n: Int) {
        @inline(__always) func apply(_ x: Float, _ y: Float) -> Float {
            switch kind {
            case .mul: x * y
            case .sub: x - y
            default: x + y
            }
        }
        if m == n && k == n {
            for j in 0..<n { out[j] = apply(a[j], b[j]) }
        } else {
            for j in 0..<n { out[j] = apply(a[m == n ? j : j % m], b[k == n ? j : j % k]) }
        }
    }
}

extension RuntimeModel {
    fileprivate func runNeighbours(_ layer: Layer, _ x: UnsafePointer<Float>, into out: UnsafeMutablePointer<Float>) {
        let (points, targets, n, d) = (layer.points!, layer.targets!, layer.pointCount, layer.inputs)
        switch layer.neighbourMode {
        case .classify, .regress:
            let found = NeighbourSearch.nearest(x, points: points, count: n, dimension: d, k: layer.k, metric: layer.metric,
                                                distances: neighbourDistances!, indices: neighbourIndices!)
            if layer.neighbourMode == .classify {
                NeighbourSearch.vote(neighbourIndices!, found: found, labels: targets, classes: layer.outputs, into: out)
            } else {
                out[0] = NeighbourSearch.mean(neighbourIndices!, found: found, targets: targets)
            }
        case .kernelSmoothing:
            out[0] = NeighbourSearch.kernelSmoothing(x, points: points, targets: targets, count: n, dimension: d, kernel: layer.kernel)
        case .localLinear:
            out[0] = NeighbourSearch.localLinear(x, points: points, targets: targets, count: n, dimension: d, sigma: layer.sigma,
                                                 scratch: localLinearScratch!)
        }
    }
}

/// Sizes arena regions exactly as `ArenaCursor` will hand them out.
struct ArenaPlan {
    private(set) var bytes = 0
    mutating func reserve<T>(_ type: T.Type, _ count: Int) {
        bytes += (count * MemoryLayout<T>.stride + 63) & ~63
    }
}

/// Hands out consecutive 64-byte-rounded regions of a raw arena. A struct, so opening a model
/// allocates nothing on the heap.
struct ArenaCursor {
    let base: UnsafeMutableRawPointer
    private(set) var offset = 0
    init(base: UnsafeMutableRawPointer) { self.base = base }
    mutating func take<T>(_ type: T.Type, _ count: Int) -> UnsafeMutablePointer<T> {
        let p = (base + offset).bindMemory(to: T.self, capacity: count)
        offset += (count * MemoryLayout<T>.stride + 63) & ~63
        return p
    }
}
