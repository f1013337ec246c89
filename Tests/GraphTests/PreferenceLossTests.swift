import Testing
import Graph
import LowLevel

/// The reward model's objective: a reward r(x) = w·x + b scored on pairs of answers, one reward
/// layer read by both sides of every pair (shared weights), trained on −log σ(r(preferred) −
/// r(rejected)), recovers a known preference.
@Suite struct PreferenceLossTests {
    @Test func learnsAKnownPreference() throws {
        let d = 4, batch = 32
        let truth: [Float] = [1.5, -2, 0.5, 1] // the hidden reward's weights
        let g = GraphBuilder()
        let preferred = g.input("preferred", shape: [d]), rejected = g.input("rejected", shape: [d])
        let w = g.parameter("reward.weight", shape: [d, 1]), b = g.parameter("reward.bias", shape: [1])
        let rw = try g.apply(.dense, [preferred, w, b], name: "reward.preferred")[0]
        let rl = try g.apply(.dense, [rejected, w, b], name: "reward.rejected")[0]
        let loss = try g.mean(try g.preferenceLoss(preferred: rw, rejected: rl), over: .all, name: "loss")
        g.output(loss)
        let graph = try g.build()
        let run = try makeExecutor(graph, PlanOptions(.training, maxBatch: batch, seeds: [loss], keep: [rw, rl]))
        var rng = RandomGenerator(seed: 5)
        func reward(_ x: [Float]) -> Float { zip(truth, x).reduce(0) { $0 + $1.0 * $1.1 } }
        /// A batch of pairs, each ordered by the hidden reward.
        func draw(into a: UnsafeMutableBufferPointer<Float>, _ c: UnsafeMutableBufferPointer<Float>) {
            for r in 0..<batch {
                let x = (0..<d).map { _ in rng.nextGaussian() }, y = (0..<d).map { _ in rng.nextGaussian() }
                let (better, worse) = reward(x) >= reward(y) ? (x, y) : (y, x)
                for j in 0..<d { a[r * d + j] = better[j]; c[r * d + j] = worse[j] }
            }
        }
        let weights = run.view(of: w)
        for j in 0..<d { weights[j] = 0.01 * Float(j) }
        var first: Float = 0
        for step in 0..<300 {
            draw(into: run.view(of: preferred), run.view(of: rejected))
            run.forward(training: true)
            if step == 0 { first = run.view(of: loss)[0] }
            run.backward(from: loss)
            for (p, rate) in [(w, Float(0.5)), (b, 0.5)] {
                let value = run.view(of: p), gradient = run.gradient(of: p)
                for j in value.indices { value[j] -= rate * gradient[j] }
            }
        }
        // Held-out pairs: the learned reward orders nearly all of them as the hidden one does.
        var agree = 0, total = 0
        for _ in 0..<20 {
            draw(into: run.view(of: preferred), run.view(of: rejected))
            run.forward(training: false)
            let a = run.view(of: rw), c = run.view(of: rl)
            for r in 0..<batch { total += 1; if a[r] > c[r] { agree += 1 } }
        }
        let learned = Array(weights)
        let cosine = zip(learned, truth).reduce(0) { $0 + $1.0 * $1.1 }
            / (learned.map { $0 * $0 }.reduce(0, +).squareRoot() * truth.map { $0 * $0 }.reduce(0, +).squareRoot())
        #expect(Double(agree) / Double(total) > 0.95, "\(agree) of \(total) held-out pairs ordered right")
        #expect(cosine > 0.98, "learned reward direction \(learned), cosine \(cosine) with the truth")
        #expect(run.view(of: loss)[0] < first / 3, "loss \(first) → \(run.view(of: loss)[0])")
    }
}
