import Testing
import Glibc
import LowLevel
@testable import Graph

/// The course's sinusoidal table: W[t, 2i] = sin(t / 10000^(2i/d)), W[t, 2i+1] = cos(·).
@Test func sinusoidalPositionsFollowTheFormula() throws {
    let g = GraphBuilder()
    let table = try g.sinusoidalPositions(positions: 64, width: 16)
    g.output(table)
    let run = try makeExecutor(try g.build(), PlanOptions(.inference, maxBatch: 1))
    run.forward()
    let w = run.view(of: table)
    for (t, i) in [(0, 0), (1, 0), (5, 3), (63, 7), (40, 1)] {
        let angle = Double(t) / Glibc.pow(10_000, Double(2 * i) / 16)
        #expect(abs(Double(w[t * 16 + 2 * i]) - Glibc.sin(angle)) < 1e-6)
        #expect(abs(Double(w[t * 16 + 2 * i + 1]) - Glibc.cos(angle)) < 1e-6)
    }
}

/// The attention op against a naive reference in double precision, masked and unmasked: per head,
/// softmax(QKᵀ/√d_head)V written out with plain loops.
@Suite struct AttentionTests {
    /// Shapes that reach every path of the kernels: head sizes below 16, of 32 and of 40 (the
    /// 32-wide loop and a scalar tail), and 1, 2 or 5 blocks of 16 positions (a group of four
    /// and a single block).
    @Test(arguments: [(false, 5, 8, 2), (true, 5, 8, 2), (true, 20, 32, 1), (false, 20, 32, 1), (true, 70, 80, 2), (false, 70, 80, 2)])
    func matchesTheNaiveReference(causal: Bool, t: Int, d: Int, heads: Int) throws {
        let g = GraphBuilder()
        let q = g.input("q", shape: [t, d]), k = g.input("k", shape: [t, d]), v = g.input("v", shape: [t, d])
        let y = try g.attention(q: q, k: k, v: v, heads: heads, causal: causal)
        g.output(y)
        let run = try makeExecutor(try g.build(), PlanOptions(.inference, maxBatch: 2))
        var random = SeededRandom(seed: UInt64(t) * (causal ? 2 : 1))
        for id in [q, k, v] { fill(run.view(of: id), &random, -2, 2) }
        run.forward()
        let Q = run.view(of: q), K = run.view(of: k), V = run.view(of: v), Y = run.view(of: y)
        let dh = d / heads
        for n in 0..<2 {
            for h in 0..<heads {
                for i in 0..<t {
                    let visible = causal ? i + 1 : t
                    var scores = [Double](repeating: 0, count: visible)
                    for j in 0..<visible {
                        for c in 0..<dh { scores[j] += Double(Q[(n * t + i) * d + h * dh + c]) * Double(K[(n * t + j) * d + h * dh + c]) }
                        scores[j] /= Double(dh).squareRoot()
                    }
                    let largest = scores.max()!
                    let weights = scores.map { Glibc.exp($0 - largest) }
                    let total = weights.reduce(0, +)
                    for c in 0..<dh {
                        var expected = 0.0
                        for j in 0..<visible { expected += weights[j] / total * Double(V[(n * t + j) * d + h * dh + c]) }
                        let got = Double(Y[(n * t + i) * d + h * dh + c])
                        #expect(abs(got - expected) < 1e-5, "sample \(n) head \(h) position \(i) column \(c): \(got) vs \(expected)")
                    }
                }
            }
        }
        // With the mask, the first position sees only itself: its output is its own value row.
        if causal {
            for c in 0..<d { #expect(abs(Y[c] - V[c]) < 1e-6) }
        }
    }
}

/// Dropout of the attention weights: in training, y = (P ⊙ mask)·V with the mask drawn from the
/// generator state in order (0 with probability r, else 1/(1 − r)); in evaluation, plain attention.
@Test(arguments: [false, true]) func attentionDropoutDropsWeights(causal: Bool) throws {
    let (t, d, heads, rate) = (6, 8, 2, Float(0.4))
    let g = GraphBuilder()
    let q = g.input("q", shape: [t, d]), k = g.input("k", shape: [t, d]), v = g.input("v", shape: [t, d])
    let generator = g.generatorState("attn.generator")
    let y = try g.attention(q: q, k: k, v: v, heads: heads, causal: causal, dropout: rate, generator: generator)
    let plain = try g.attention(q: q, k: k, v: v, heads: heads, causal: causal)
    g.output(y)
    g.output(plain)
    let run = try makeExecutor(try g.build(), PlanOptions(.training, maxBatch: 2, seeds: [y]))
    var random = SeededRandom(seed: 5)
    for id in [q, k, v] { fill(run.view(of: id), &random, -2, 2) }
    let target = UnsafeMutableRawBufferPointer(run.intView(of: generator))
    withUnsafeBytes(of: RandomGenerator(seed: 7)) { target.copyMemory(from: $0) }
    run.forward(training: true)
    let Q = run.view(of: q), K = run.view(of: k), V = run.view(of: v), Y = run.view(of: y), P = run.view(of: plain)
    var mask = RandomGenerator(seed: 7), dropped = 0, worst = 0.0, differs = false
    let dh = d / heads
    for n in 0..<2 {
        for h in 0..<heads {
            for i in 0..<t {
                let m = (0..<t).map { _ in mask.nextUniform() < rate ? 0 : 1 / Double(1 - rate) }
                let visible = causal ? i + 1 : t
                var scores = (0..<visible).map { j in
                    (0..<dh).reduce(0.0) { $0 + Double(Q[(n * t + i) * d + h * dh + $1]) * Double(K[(n * t + j) * d + h * dh + $1]) } / Double(dh).squareRoot()
                }
                let largest = scores.max()!
                scores = scores.map { Glibc.exp($0 - largest) }
                let total = scores.reduce(0, +)
                dropped += m.prefix(visible).filter { $0 == 0 }.count
                for c in 0..<dh {
                    let expected = (0..<visible).reduce(0.0) { $0 + scores[$1] / total * m[$1] * Double(V[(n * t + $1) * d + h * dh + c]) }
                    let index = (n * t + i) * d + h * dh + c
                    worst = max(worst, abs(Double(Y[index]) - expected))
                    if abs(Y[index] - P[index]) > 1e-3 { differs = true }
                }
            }
        }
    }
    #expect(worst < 1e-5, "training output against (P ⊙ mask)·V: \(worst)")
    #expect(dropped > 0 && differs, "some weights are dropped")
    run.forward(training: false)
    for i in 0..<(2 * t * d) { #expect(Y[i] == P[i], "evaluation uses the weights as they are") }
}
