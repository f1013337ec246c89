extension ModelWriter {
    /// The version-1 file for a model given as stages (classic models): one layer record per
    /// stage. `description.inputShape` must hold the first stage's inputs; stage lengths must
    /// chain. (Version 2 is `encode(stages:description:version:)`, in the Training module.)
    public static func encodeLayers(stages: [ModelStage], description: Description) throws(ModelWriteError) -> [UInt8] {
        func fail(_ m: String) -> ModelWriteError { ModelWriteError(message: m) }
        let (c, h, w) = description.inputShape
        var width = c * h * w
        var records: [[UInt32]] = []
        var tensors: [ModelTensor] = []
        func add(_ name: String, _ shape: [Int], _ values: [Float]) -> UInt32 {
            tensors.append(ModelTensor(name: name, shape: shape, values: values))
            return UInt32(tensors.count - 1)
        }
        func record(_ kind: ModelFormat.LayerKind, _ inputs: Int, _ outputs: Int, _ args: [UInt32]) {
            var r = [UInt32](repeating: 0, count: ModelFormat.layerRecordSize / 4)
            r[0] = kind.rawValue; r[1] = UInt32(inputs); r[2] = UInt32(outputs)
            for (i, a) in args.enumerated() { r[3 + i] = a }
            records.append(r)
        }
        for (i, stage) in stages.enumerated() {
            let name = "stage\(i)"
            if case .activation(let kind) = stage {
                record(.activation, width, width, [ModelFormat.activationCode(kind)])
                continue
            }
            guard let (inputs, outputs) = stage.lengths else { throw fail("stage \(i) is malformed: \(stage)") }
            guard inputs == width else { throw fail("stage \(i) takes \(inputs) inputs but receives \(width)") }
            switch stage {
            case .dense(let weight, let bias, _, _):
                let wi = add(name + ".weight", [inputs, outputs], weight), bi = add(name + ".bias", [outputs], bias)
                record(.dense, inputs, outputs, [wi, bi])
            case .affine(let scale, let shift):
                let si = add(name + ".scale", [inputs], scale), hi = add(name + ".shift", [inputs], shift)
                record(.channelAffine, inputs, outputs, [si, hi, UInt32(inputs), 1])
            case .kernel(let kernel, let points, let n, let d):
                let pi = add(name + ".points", [n, d], points)
                let code = kernel.code
                record(.kernel, inputs, outputs, [pi, code.kind, code.degree, code.sigma.bitPattern])
            case .pairwiseVote(let k):
                record(.pairwiseVote, inputs, outputs, [UInt32(k)])
            case .nearestNeighbours(let points, let targets, let n, let d, let k, let metric, let mode):
                let pi = add(name + ".points", [n, d], points), ti = add(name + ".targets", [n], targets)
                var args: [UInt32] = [pi, ti, UInt32(k), metric.code, 0, 0, 0, 0, 0, 0]
                switch mode {
                case .classify(let classes): args[4] = ModelFormat.NeighbourModeCode.classify.rawValue; args[5] = UInt32(classes)
                case .regress: args[4] = ModelFormat.NeighbourModeCode.regress.rawValue
                case .kernelSmoothing(let kernel):
                    let code = kernel.code
                    args[4] = ModelFormat.NeighbourModeCode.kernelSmoothing.rawValue
                    args[6] = code.kind; args[7] = code.degree; args[8] = code.sigma.bitPattern
                case .localLinear(let sigma):
                    args[4] = ModelFormat.NeighbourModeCode.localLinear.rawValue; args[9] = sigma.bitPattern
                }
                record(.nearestNeighbours, inputs, outputs, args)
            case .activation:
                break
            }
            width = outputs
        }
        guard !records.isEmpty else { throw fail("a model needs at least one stage") }
        return try serialise(records: records, tensors: tensors, description: description, outputLength: width)
    }
}

