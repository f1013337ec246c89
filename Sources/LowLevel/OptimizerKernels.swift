/// Parameter updates, fused so each optimizer reads and writes every tensor once. `decay` is the
/// L2 coefficient λ (the gradient used is g + λw); pass 0 for no weight decay.
extension Kernels {
    /// w −= η(g + λw).
    public static func sgdUpdate(_ w: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
                                 learningRate lr: Float, decay: Float, count n: Int) {
        let keep = 1 - lr * decay
        var i = 0
        while i + 16 <= n {
            store16((load16(w + i) * keep).addingProduct(load16(g + i), -lr), w + i)
            i += 16
        }
        while i < n { w[i] = w[i] * keep - lr * g[i]; i += 1 }
    }

    /// v = μv + (g + λw); w −= ηv.
    public static func momentumUpdate(_ w: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
                                      velocity v: UnsafeMutablePointer<Float>, learningRate lr: Float,
                                      momentum mu: Float, decay: Float, count n: Int) {
        var i = 0
        while i + 16 <= n {
            let wv = load16(w + i)
            let grad = load16(g + i).addingProduct(wv, decay)
            let vel = (load16(v + i) * mu) + grad
            store16(vel, v + i)
            store16(wv.addingProduct(vel, -lr), w + i)
            i += 16
        }
        while i < n {
            let vel = v[i] * mu + (g[i] + decay * w[i])
            v[i] = vel
            w[i] -= lr * vel
            i += 1
        }
    }

    /// Adam (Kingma & Ba) with bias correction; `step` is the 1-based update count.
    /// m = β₁m + (1−β₁)g', s = β₂s + (1−β₂)g'², w −= η·m̂/(√ŝ + ε), g' = g + λw.
    public static func adamUpdate(_ w: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
                                  firstMoment m: UnsafeMutablePointer<Float>, secondMoment s: UnsafeMutablePointer<Float>,
                                  learningRate lr: Float, beta1: Float, beta2: Float, epsilon: Float,
                                  decay: Float, step: Int, count n: Int) {
        let c1 = 1 / (1 - powf(beta1, Float(step)))
        let c2 = 1 / (1 - powf(beta2, Float(step)))
        var i = 0
        while i + 16 <= n {
            let wv = load16(w + i)
            let grad = load16(g + i).addingProduct(wv, decay)
            let mv = (load16(m + i) * beta1).addingProduct(grad, 1 - beta1)
            let sv = (load16(s + i) * beta2).addingProduct(grad * grad, 1 - beta2)
            store16(mv, m + i)
            store16(sv, s + i)
            let denominator = (sv * c2).squareRoot() + epsilon
            store16(wv - lr * (mv * c1) / denominator, w + i)
            i += 16
        }
        while i < n {
            let grad = g[i] + decay * w[i]
            m[i] = beta1 * m[i] + (1 - beta1) * grad
            s[i] = beta2 * s[i] + (1 - beta2) * grad * grad
            w[i] -= lr * (m[i] * c1) / ((s[i] * c2).squareRoot() + epsilon)
            i += 1
        }
    }
}

#if canImport(Glibc)
import Glibc
#endif
