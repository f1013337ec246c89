import Foundation
@_exported import TestSupport
import Arena
import Classic
import Infer
import Training
import ModelFile
import LowLevel


/// Deterministic values in [0, 1) (64-bit LCG), independent of the code under test.
struct TestRandom {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407 }
    mutating func uniform() -> Float {
        state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
        return Float(state >> 40) / Float(1 << 24)
    }
    /// Roughly normal (sum of four uniforms, centred, unit variance).
    mutating func normal() -> Float {
        var s: Float = 0
        for _ in 0..<4 { s += uniform() }
        return (s - 2) * 1.732
    }
}

/// Gaussian blobs: `perClass` points around each centre, spread `spread`.
func blobs(centres: [[Float]], perClass: Int, spread: Float, seed: UInt64,
           arena: ArenaAllocator) throws -> SampleSet {
    var rng = TestRandom(seed: seed)
    var values: [Float] = [], labels: [Int32] = []
    for i in 0..<perClass {
        for (c, centre) in centres.enumerated() {
            _ = i
            for v in centre { values.append(v + spread * rng.normal()) }
            labels.append(Int32(c))
        }
    }
    return try SampleSet(values: values, rows: labels.count, columns: centres[0].count, labels: labels,
                         classCount: centres.count, arena: arena)
}

/// Evaluates exported stages the plain way (a reference independent of the fitted models' code):
/// kernel values with `KernelFunction`'s direct formula, dense products by loops, the one-vs-one
/// vote by counting, softmax for probability outputs.
func evaluate(_ stages: [ModelStage], input: [Float], softmax: Bool = false) -> [Float] {
    var x = input
    for stage in stages {
        switch stage {
        case .kernel(let kernel, let points, let count, let dimension):
            var out = [Float](repeating: 0, count: count)
            x.withUnsafeBufferPointer { xp in
                points.withUnsafeBufferPointer { pp in
                    for i in 0..<count {
                        out[i] = kernel(xp.baseAddress!, pp.baseAddress! + i * dimension, count: dimension)
                    }
                }
            }
            x = out
        case .dense(let weight, let bias, let inputs, let outputs):
            var out = bias
            for i in 0..<inputs { for o in 0..<outputs { out[o] += x[i] * weight[i * outputs + o] } }
            x = out
        case .pairwiseVote(let k):
            var votes = [Float](repeating: 0, count: k), confidence = [Float](repeating: 0, count: k)
            var p = 0
            for a in 0..<k {
                for b in (a + 1)..<max(a + 1, k) {
                    if x[p] > 0 { votes[a] += 1 } else { votes[b] += 1 }
                    confidence[a] += x[p]; confidence[b] -= x[p]
                    p += 1
                }
            }
            x = (0..<k).map { votes[$0] + confidence[$0] / (3 * (abs(confidence[$0]) + 1)) }
        case .activation(.sigmoid):
            x = x.map { 1 / (1 + exp(-$0)) }
        default:
            fatalError("stage not used by kernel machines: \(stage)")
        }
    }
    if softmax {
        let m = x.max()!
        let e = x.map { exp($0 - m) }
        let s = e.reduce(0, +)
        x = e.map { $0 / s }
    }
    return x
}

/// One row of a sample set as an array.
func row(_ m: Matrix, _ r: Int) -> [Float] { Array(UnsafeBufferPointer(start: m.row(r), count: m.columns)) }

/// A model's outputs for one row.
func outputs(_ model: some TrainedModel, _ input: [Float]) -> [Float] {
    var out = [Float](repeating: 0, count: model.outputCount)
    input.withUnsafeBufferPointer { p in
        out.withUnsafeMutableBufferPointer { o in model.predict(p.baseAddress!, into: o.baseAddress!) }
    }
    return out
}
