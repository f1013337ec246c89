import LowLevel

/// The shared machinery of max and average pooling over windows (no padding) of x [batch, C, H, W].
/// Argument `window` = [height, width, strideY, strideX]. Global average pooling is average
/// pooling with the whole plane as the window.
protocol Pool2DOperator: Operator {
    static var mode: Pooling.Mode { get }
}

extension Pool2DOperator {
    static func spec(_ attributes: Attributes) -> PoolSpec? {
        let w = attributes.ints("window")
        guard w.count == 4 else { return nil }
        return PoolSpec(window: (w[0], w[1]), stride: (w[2], w[3]))
    }

    static func shapes(_ node: NodeRun) -> (PoolSpec, Shape3, Shape3) {
        let x = node.inputTypes[0].shape, y = node.outputTypes[0].shape
        return (spec(node.attributes)!, Shape3(channels: x[0], height: x[1], width: x[2]), Shape3(channels: y[0], height: y[1], width: y[2]))
    }

    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 1 else { throw ShapeError("takes 1 input, got \(inputs.count)") }
        let x = inputs[0]
        guard x.element == .float32, x.isBatched, x.shape.count == 3 else { throw ShapeError("x must be float32 [batch, C, H, W]") }
        guard let spec = spec(attributes), let out = spec.output(input: Shape3(channels: x.shape[0], height: x.shape[1], width: x.shape[2])) else {
            throw ShapeError("window \(attributes.ints("window")) does not fit \(x.shape[1])x\(x.shape[2])")
        }
        return [TensorType([out.channels, out.height, out.width], batched: true)]
    }

    static var overwritesGradients: Bool { true }

    static func forward(_ node: NodeRun) {
        let (spec, input, output) = shapes(node)
        let x = node.input(0), y = node.output(0)
        // Winners are recorded in training only; inference takes the faster path without them.
        let winners = mode == .max && node.isTraining ? UnsafeMutableRawPointer(node.buffer(0)).assumingMemoryBound(to: Int32.self) : nil
        for n in 0..<node.rows {
            Pooling.forwardOne(mode, spec, input, output, x + n * input.count, into: y + n * output.count,
                               argmax: winners.map { $0 + n * output.count })
        }
    }

    static func backward(_ node: NodeRun) {
        guard let dx = node.inputGradient(0) else { return }
        let (spec, input, output) = shapes(node)
        let overwrite = node.overwrites(0), scratch = node.floatBuffer(1)
        // Argument `positiveInputs` = 1: a ReLU fused before this pool (its output is x).
        let positive = node.attributes.int("positiveInputs") != 0
        let winners = mode == .max ? UnsafePointer(node.buffer(0).assumingMemoryBound(to: Int32.self)) : nil
        for n in 0..<node.rows {
            let target = overwrite ? dx + n * input.count : scratch
            if let dy = node.outputGradient(0) {
                Pooling.backwardOne(mode, spec, input, output, outputGradient: dy + n * output.count, into: target,
                                    argmax: winners.map { $0 + n * output.count },
                                    positiveInputs: positive ? UnsafePointer(node.input(0) + n * input.count) : nil)
            } else {
                Kernels.fill(target, with: 0, count: input.count)
            }
            if !overwrite { Kernels.add(dx + n * input.count, scratch, into: dx + n * input.count, count: input.count) }
        }
    }

    static func buffers(inputs: [TensorType], outputs: [TensorType], attributes: Attributes, maxBatch: Int) -> [BufferRequest] {
        // 0: the winners' input indices (max pooling, saved); 1: one sample's input gradient.
        [BufferRequest(.saved, bytes: mode == .max ? 4 * maxBatch * outputs[0].elementsPerSample : 0),
         .floats(.backward, inputs[0].elementsPerSample)]
    }
}

/// Max pooling: each window's largest value (the first in row-major order on ties; NaN wins);
/// backward routes each output gradient to its window's winner.
enum MaxPool2D: Pool2DOperator {
    static let mode = Pooling.Mode.max
}

/// Average pooling: each window's mean; backward spreads each output gradient evenly.
enum AvgPool2D: Pool2DOperator {
    static let mode = Pooling.Mode.average
}

extension GraphBuilder {
    public func maxPool2d(_ x: ValueID, _ spec: PoolSpec, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.maxPool2d, [x], attributes: Self.poolAttributes(spec), name: name)
    }

    public func avgPool2d(_ x: ValueID, _ spec: PoolSpec, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.avgPool2d, [x], attributes: Self.poolAttributes(spec), name: name)
    }

    static func poolAttributes(_ spec: PoolSpec) -> Attributes {
        Attributes(["window": .ints([spec.windowHeight, spec.windowWidth, spec.strideY, spec.strideX])])
    }
}
