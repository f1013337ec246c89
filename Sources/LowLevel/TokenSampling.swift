#if canImport(Glibc)
import Glibc
#endif

extension Kernels {
    /// A token from `logits`: the largest at temperature 0, else a draw from the softmax of
    /// logits / temperature over the `topK` largest (ties at the k-th value are all kept).
    public static func pickToken(_ logits: UnsafePointer<Float>, vocabulary: Int, temperature: Float, topK: Int,
                     probabilities p: UnsafeMutablePointer<Float>, using generator: inout RandomGenerator) -> Int {
        if temperature <= 0 { return Kernels.argmax(logits, count: vocabulary) }
        // The k-th largest logit, by counting (vocabularies are small).
        var threshold = -Float.infinity
        if topK > 0 && topK < vocabulary {
            for i in 0..<vocabulary { p[i] = logits[i] }
            for _ in 0..<topK - 1 { p[Kernels.argmax(p, count: vocabulary)] = -.infinity }
            threshold = Kernels.maximum(p, count: vocabulary)
        }
        let largest = Kernels.maximum(logits, count: vocabulary)
        var total: Float = 0
        for i in 0..<vocabulary {
            p[i] = logits[i] >= threshold ? expf((logits[i] - largest) / temperature) : 0
            total += p[i]
        }
        var u = generator.nextUniform() * total
        for i in 0..<vocabulary where p[i] > 0 {
            u -= p[i]
            if u < 0 { return i }
        }
        return Kernels.argmax(p, count: vocabulary)
    }
}
