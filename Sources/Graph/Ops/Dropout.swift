import LowLevel

/// Inverted dropout with drop probability `rate` (argument): in training each element is kept
/// with probability 1 − rate and scaled by 1/(1 − rate); in evaluation y = x. The generator is a
/// state value (int32 [8], a `RandomGenerator`), so checkpoints save it and a resumed run draws
/// the same masks. The mask is saved for backward.
enum Dropout: Operator {
    static func outputTypes(of inputs: [TensorType], attributes: Attributes) throws(ShapeError) -> [TensorType] {
        guard inputs.count == 2 else { throw ShapeError("takes x and the generator state, got \(inputs.count) inputs") }
        guard inputs[0].element == .float32, inputs[0].isBatched else { throw ShapeError("x must be float32 and batched") }
        guard inputs[1] == TensorType([8], .int32, batched: false) else { throw ShapeError("the generator state must be int32 [8]") }
        let rate = attributes.float("rate")
        guard rate >= 0 && rate < 1 else { throw ShapeError("rate \(rate) is outside [0, 1)") }
        return [inputs[0]]
    }

    static func buffers(inputs: [TensorType], outputs: [TensorType], attributes: Attributes, maxBatch: Int) -> [BufferRequest] {
        [.floats(.saved, maxBatch * inputs[0].elementsPerSample)]
    }

    static var overwritesGradients: Bool { true }

    static func generator(_ node: NodeRun) -> UnsafeMutablePointer<RandomGenerator> {
        UnsafeMutableRawPointer(node.input(1)).assumingMemoryBound(to: RandomGenerator.self)
    }

    static func forward(_ node: NodeRun) {
        let x = node.input(0), y = node.output(0), n = node.outputCount(0), rate = node.attributes.float("rate")
        guard node.isTraining && rate > 0 else {
            y.update(from: x, count: n)
            return
        }
        let mask = node.floatBuffer(0), keep = 1 / (1 - rate), random = generator(node)
        for i in 0..<n {
            mask[i] = random.pointee.nextUniform() < rate ? 0 : keep
            y[i] = x[i] * mask[i]
        }
    }

    static func backward(_ node: NodeRun) {
        guard let dx = node.inputGradient(0) else { return }
        let n = node.inputCount(0), rate = node.attributes.float("rate"), mask = node.floatBuffer(0)
        let overwrite = node.overwrites(0)
        guard let dy = node.outputGradientOrClearing(input: 0, count: n) else { return }
        for i in 0..<n {
            let g = rate > 0 ? dy[i] * mask[i] : dy[i]
            dx[i] = overwrite ? g : dx[i] + g
        }
    }
}

extension GraphBuilder {
    /// Dropout reading the generator state `generator` (int32 [8], see `Dropout`).
    public func dropout(_ x: ValueID, rate: Float, generator: ValueID, name: String? = nil) throws(GraphError) -> ValueID {
        try apply1(.dropout, [x, generator], attributes: Attributes(["rate": .float(rate)]), name: name)
    }

    /// A generator state for dropout: int32 [8], seeded by the caller.
    public func generatorState(_ name: String) -> ValueID {
        addState(name, TensorType([8], .int32, batched: false))
    }
}
