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
        adamStep(w, g, m, s, lr: lr, beta1: beta1, beta2: beta2, epsilon: epsilon, l2: decay, keep: 1, step: step, n: n)
    }

    /// AdamW (Loshchilov & Hutter), PyTorch's form: w ← (1 − ηλ)w, then Adam on the raw gradient:
    /// m = β₁m + (1−β₁)g, s = β₂s + (1−β₂)g², w −= η·m̂/(√ŝ + ε). `step` is the 1-based update count.
    public static func adamWUpdate(_ w: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
                                   firstMoment m: UnsafeMutablePointer<Float>, secondMoment s: UnsafeMutablePointer<Float>,
                                   learningRate lr: Float, beta1: Float, beta2: Float, epsilon: Float,
                                   decay: Float, step: Int, count n: Int) {
        adamStep(w, g, m, s, lr: lr, beta1: beta1, beta2: beta2, epsilon: epsilon, l2: 0, keep: 1 - lr * decay, step: step, n: n)
    }

    /// Both Adams: g' = g + l2·w, the moments of g', then w ← keep·w − η·m̂/(√ŝ + ε).
    @inline(__always)
    private static func adamStep(_ w: UnsafeMutablePointer<Float>, _ g: UnsafePointer<Float>, _ m: UnsafeMutablePointer<Float>,
                                 _ s: UnsafeMutablePointer<Float>, lr: Float, beta1: Float, beta2: Float, epsilon: Float,
                                 l2: Float, keep: Float, step: Int, n: Int) {
        let c1 = 1 / (1 - powf(beta1, Float(step)))
        let c2 = 1 / (1 - powf(beta2, Float(step)))
        var i = 0
        while i + 16 <= n {
            let wv = load16(w + i)
            let grad = load16(g + i).addingProduct(wv, l2)
            let mv = (load16(m + i) * beta1).addingProduct(grad, 1 - beta1)
            let sv = (load16(s + i) * beta2).addingProduct(grad * grad, 1 - beta2)
            store16(mv, m + i)
            store16(sv, s + i)
            let denominator = (sv * c2).squareRoot() + epsilon
            store16(wv * keep - lr * (mv * c1) / denominator, w + i)
            i += 16
        }
        while i < n {
            let grad = g[i] + l2 * w[i]
            m[i] = beta1 * m[i] + (1 - beta1) * grad
            s[i] = beta2 * s[i] + (1 - beta2) * grad * grad
            w[i] = w[i] * keep - lr * (m[i] * c1) / ((s[i] * c2).squareRoot() + epsilon)
            i += 1
        }
    }
}

extension Kernels {
    /// Adagrad (Duchi, Hazan & Singer): s += g'², w −= η·g'/(√s + ε), g' = g + λw.
    public static func adagradUpdate(_ w: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
                                     squares s: UnsafeMutablePointer<Float>, learningRate lr: Float, epsilon: Float,
                                     decay: Float, count n: Int) {
        var i = 0
        while i + 16 <= n {
            let wv = load16(w + i)
            let grad = load16(g + i).addingProduct(wv, decay)
            let sv = load16(s + i).addingProduct(grad, grad)
            store16(sv, s + i)
            store16(wv - lr * grad / (sv.squareRoot() + epsilon), w + i)
            i += 16
        }
        while i < n {
            let grad = g[i] + decay * w[i]
            s[i] += grad * grad
            w[i] -= lr * grad / (s[i].squareRoot() + epsilon)
            i += 1
        }
    }

    /// LAMB (You et al., layer-wise adaptive moments) for one tensor: Adam's bias-corrected moments
    /// of g, the direction r = m̂/(√ŝ + ε) + λw (decoupled weight decay), then
    /// w −= η·(‖w‖/‖r‖)·r, the trust ratio taken as 1 when either norm is 0. Two passes: the
    /// first updates the moments and sums ‖w‖² and ‖r‖², the second steps.
    public static func lambUpdate(_ w: UnsafeMutablePointer<Float>, gradient g: UnsafePointer<Float>,
                                  firstMoment m: UnsafeMutablePointer<Float>, secondMoment s: UnsafeMutablePointer<Float>,
                                  learningRate lr: Float, beta1: Float, beta2: Float, epsilon: Float,
                                  decay: Float, step: Int, count n: Int) {
        let c1 = 1 / (1 - powf(beta1, Float(step)))
        let c2 = 1 / (1 - powf(beta2, Float(step)))
        @inline(__always) func direction(_ mv: Float, _ sv: Float, _ wv: Float) -> Float {
            (mv * c1) / ((sv * c2).squareRoot() + epsilon) + decay * wv
        }
        var weightSquares = SIMD16<Float>(), directionSquares = SIMD16<Float>()
        var i = 0
        while i + 16 <= n {
            let wv = load16(w + i), grad = load16(g + i)
            let mv = (load16(m + i) * beta1).addingProduct(grad, 1 - beta1)
            let sv = (load16(s + i) * beta2).addingProduct(grad * grad, 1 - beta2)
            store16(mv, m + i)
            store16(sv, s + i)
            let r = (mv * c1) / ((sv * c2).squareRoot() + epsilon) + decay * wv
            weightSquares.addProduct(wv, wv)
            directionSquares.addProduct(r, r)
            i += 16
        }
        var wSum = weightSquares.sum(), rSum = directionSquares.sum()
        while i < n {
            m[i] = beta1 * m[i] + (1 - beta1) * g[i]
            s[i] = beta2 * s[i] + (1 - beta2) * g[i] * g[i]
            let r = direction(m[i], s[i], w[i])
            wSum += w[i] * w[i]; rSum += r * r
            i += 1
        }
        let ratio = wSum > 0 && rSum > 0 ? (wSum / rSum).squareRoot() : 1
        let step = lr * ratio
        i = 0
        while i + 16 <= n {
            let wv = load16(w + i)
            let r = (load16(m + i) * c1) / ((load16(s + i) * c2).squareRoot() + epsilon) + decay * wv
            store16(wv.addingProduct(r, -step), w + i)
            i += 16
        }
        while i < n { w[i] -= step * direction(m[i], s[i], w[i]); i += 1 }
    }
}

#if canImport(Glibc)
import Glibc
#endif
