/// A diffusion model's entry (docs/FORMAT.md, "Diffusion models"): the graph predicts the noise
/// ε̂ of x_t (the main input) given the timestep's embedding (the second input,
/// `diffusion.time`); the file also holds every step's embedding, the schedule ᾱ_1…ᾱ_T and the
/// sampler `infer_sample` runs. All indices are validated when the file is opened.
public struct DiffusionEntry: Sendable {
    public enum Sampler: Int, Sendable {
        /// DDPM's ancestral sampling over all T steps.
        case ancestral = 1
        /// The probability-flow ODE's deterministic (DDIM) steps over `samplerSteps` times.
        case ode = 2
    }

    /// The value index of the time input, E floats.
    public let time: Int
    /// The tensor of every step's embedding, [T, E] (row t − 1 is step t's).
    public let embedding: Int
    /// The tensor of ᾱ_1…ᾱ_T, [T], strictly decreasing in (0, 1).
    public let alphaBar: Int
    /// T, the forward process's steps.
    public let steps: Int
    /// E, the embedding's features.
    public let features: Int
    public let sampler: Sampler
    /// The network evaluations one sample takes: T for ancestral sampling, K ≤ T for the ODE.
    public let samplerSteps: Int
    /// Whether each step clamps the implied clean image x̂_0 to [−1, 1] (`DiffusionStep`).
    public let clip: Bool
}

extension ModelFile {
    /// Finds and checks the diffusion parameters beside the time input `time`.
    static func diffusionEntry(base: UnsafeRawPointer, section: GraphSection, tensorTable: Int,
                               time: Int) throws(InferStatus) -> DiffusionEntry {
        func fail(_ text: StaticString) -> InferStatus {
            var m = ErrorMessage(); m.append("corrupt model: "); m.append(text); return .format
        }
        func tensor(named name: StaticString) -> Tensor? {
            for v in 0..<section.valueCount where valueName(base, section.valueTable, v, is: name) {
                guard let t = valueRecord(base, section.valueTable, v).tensor else { return nil }
                return tensorRecord(base, tensorTable, t)
            }
            return nil
        }
        func index(named name: StaticString) -> Int? {
            (0..<section.valueCount).first { valueName(base, section.valueTable, $0, is: name) }
                .flatMap { valueRecord(base, section.valueTable, $0).tensor }
        }
        let features = valueRecord(base, section.valueTable, time).count
        guard let schedule = tensor(named: GraphFormat.diffusionScheduleName), let scheduleIndex = index(named: GraphFormat.diffusionScheduleName),
              schedule.rank == 1, schedule.count >= 1, schedule.count <= 100_000 else {
            throw fail("a diffusion model needs its schedule (diffusion.alpha_bar, 1 to 100000 values)")
        }
        let steps = schedule.count
        let alphaBar = (base + schedule.offset).assumingMemoryBound(to: Float.self)
        var previous: Float = 1
        for t in 0..<steps {
            let a = alphaBar[t]
            // ᾱ = 1 would divide by zero in the ancestral step; the guard also rejects NaN.
            guard a > 0, a < previous, a < 1 else { throw fail("the diffusion schedule's ᾱ must decrease strictly within (0, 1)") }
            previous = a
        }
        guard let embedding = tensor(named: GraphFormat.diffusionEmbeddingName), let embeddingIndex = index(named: GraphFormat.diffusionEmbeddingName),
              embedding.rank == 2, embedding.shape.0 == steps, embedding.shape.1 == features else {
            throw fail("a diffusion model needs every step's embedding (diffusion.embedding, [steps, time input length])")
        }
        guard let sampler = tensor(named: GraphFormat.diffusionSamplerName), sampler.rank == 1, sampler.count == 3 else {
            throw fail("a diffusion model needs its sampler (diffusion.sampler, [kind, steps, clip])")
        }
        let settings = (base + sampler.offset).assumingMemoryBound(to: Float.self)
        guard let kind = DiffusionEntry.Sampler(rawValue: settings[0] == 1 ? 1 : settings[0] == 2 ? 2 : 0),
              settings[1] >= 1, settings[1] <= Float(steps), settings[1] == settings[1].rounded(),
              kind == .ode || Int(settings[1]) == steps, settings[2] == 0 || settings[2] == 1 else {
            throw fail("the diffusion sampler must be [1, steps, clip] (ancestral) or [2, k, clip] with 1 ≤ k ≤ steps (ODE), clip 0 or 1")
        }
        return DiffusionEntry(time: time, embedding: embeddingIndex, alphaBar: scheduleIndex, steps: steps, features: features,
                              sampler: kind, samplerSteps: Int(settings[1]), clip: settings[2] == 1)
    }
}
