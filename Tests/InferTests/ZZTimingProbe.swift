import Testing
@testable import Infer
import LowLevel

@Suite struct ZZTimingProbe {
    @Test func probe() {
        let g1 = ConvGeometry(input: Shape3(channels: 1, height: 28, width: 28), output: Shape3(channels: 6, height: 28, width: 28),
                              kernelHeight: 5, kernelWidth: 5, strideY: 1, strideX: 1, padTop: 2, padLeft: 2)
        let g2 = ConvGeometry(input: Shape3(channels: 6, height: 14, width: 14), output: Shape3(channels: 16, height: 10, width: 10),
                              kernelHeight: 5, kernelWidth: 5, strideY: 1, strideX: 1, padTop: 0, padLeft: 0)
        let x = [Float](repeating: 0.3, count: 6 * 28 * 28), w = [Float](repeating: 0.01, count: 16 * 150), b = [Float](repeating: 0, count: 16)
        var scratch = [Float](repeating: 0, count: 40000), y = [Float](repeating: 0, count: 6 * 28 * 28)
        var results: [String: UInt64] = [:]
        func time(_ name: String, _ body: () -> Void) {
            for _ in 0..<50 { body() }
            var best = UInt64.max
            for _ in 0..<5 {
                let t = MonotonicClock.now()
                for _ in 0..<100 { body() }
                best = min(best, MonotonicClock.now() - t)
            }
            results[name] = min(results[name] ?? .max, best)
        }
        DirectConvolution.pad(x, g2, into: &scratch)
        var t = [Float](repeating: 0, count: 4000)
        DirectConvolution.transposeWeights(w, g2, into: &t)
        for _ in 0..<10 {
            time("conv1 one") { Conv2D.forwardOne(x, g1, weight: w, bias: b, scratch: &scratch, into: &y) }
            time("conv2 rows") { DirectConvolution.forward(padded: scratch, g2, weight: w, bias: b, into: &y) }
            time("conv2 filters") { DirectConvolution.forwardAcrossFilters(padded: scratch, g2, transposedWeight: t, bias: b, into: &y) }
        }
        for (k, v) in results.sorted(by: { $0.key < $1.key }) { print("PROBE \(k): \(Double(v) / 100 / 1000) µs") }
    }
}
