#if canImport(Glibc)
import Glibc
#endif

/// Nearest-neighbour search and neighbour-based predictions for one query, shared by the Swift
/// models and the runtime so both compute the same outputs.
///
/// Order: neighbours are ranked by (distance, stored index), so among points at equal distance
/// the one stored first wins. Votes: each of the k nearest adds 1/k to its class; the predicted
/// class is the largest fraction, and a tie between classes goes to the lowest class index.
public enum NeighbourSearch {
    /// The distance the search ranks by: squared Euclidean for L2 (same order, no square root),
    /// 1 − cos for cosine (1 when either vector is zero), L1 and L∞ as defined.
    @inline(__always)
    public static func rankingDistance(_ metric: DistanceMetric, _ x: UnsafePointer<Float>, queryNorm: Float,
                                       _ z: UnsafePointer<Float>, count d: Int) -> Float {
        switch metric {
        case .l2: return Kernels.squaredDistance(x, z, count: d)
        case .l1: return Kernels.l1Distance(x, z, count: d)
        case .linf: return Kernels.maxDistance(x, z, count: d)
        case .cosine:
            let zz = Kernels.sumOfSquares(z, count: d)
            guard queryNorm > 0, zz > 0 else { return 1 }
            return 1 - Kernels.dot(x, z, count: d) / (queryNorm * zz.squareRoot())
        }
    }

    /// Offers a candidate to a top-k list sorted by (distance, index); `found` counts the entries
    /// filled so far (≤ k).
    @inline(__always)
    public static func offer(_ distance: Float, index: Int32, k: Int, found: inout Int,
                             distances: UnsafeMutablePointer<Float>, indices: UnsafeMutablePointer<Int32>) {
        if found == k {
            let last = found - 1
            if distance > distances[last] || (distance == distances[last] && index > indices[last]) || distance.isNaN { return }
        } else {
            found += 1
        }
        var i = found - 1
        while i > 0 && (distances[i - 1] > distance || (distances[i - 1] == distance && indices[i - 1] > index)) {
            distances[i] = distances[i - 1]
            indices[i] = indices[i - 1]
            i -= 1
        }
        distances[i] = distance
        indices[i] = index
    }

    /// The k nearest of `n` stored points (row-major, `d` floats each) to `x`, ascending, into
    /// `distances` / `indices` (k entries each). Returns how many were found (min(k, n)).
    public static func nearest(_ x: UnsafePointer<Float>, points: UnsafePointer<Float>, count n: Int, dimension d: Int,
                               k: Int, metric: DistanceMetric,
                               distances: UnsafeMutablePointer<Float>, indices: UnsafeMutablePointer<Int32>) -> Int {
        let norm = metric == .cosine ? Kernels.sumOfSquares(x, count: d).squareRoot() : 0
        var found = 0
        for i in 0..<n {
            let dist = rankingDistance(metric, x, queryNorm: norm, points + i * d, count: d)
            offer(dist, index: Int32(i), k: k, found: &found, distances: distances, indices: indices)
        }
        return found
    }

    /// Vote fractions of the first `found` neighbours' classes into `scores` (`classes` floats).
    public static func vote(_ indices: UnsafePointer<Int32>, found: Int, labels: UnsafePointer<Float>, classes: Int,
                            into scores: UnsafeMutablePointer<Float>) {
        for c in 0..<classes { scores[c] = 0 }
        let share = 1 / Float(max(found, 1))
        for i in 0..<found { scores[Int(labels[Int(indices[i])])] += share }
    }

    /// Mean target of the first `found` neighbours.
    public static func mean(_ indices: UnsafePointer<Int32>, found: Int, targets: UnsafePointer<Float>) -> Float {
        var s: Float = 0
        for i in 0..<found { s += targets[Int(indices[i])] }
        return found == 0 ? 0 : s / Float(found)
    }

    /// Nadaraya–Watson: Σ k(x, xᵢ)yᵢ / Σ k(x, xᵢ) over all `n` points. For the Gaussian and Laplace
    /// kernels the weights are taken relative to the nearest point (the ratio is unchanged), so a
    /// query far from every point still gets its nearest points' average instead of 0/0. Returns
    /// 0 when the weights sum to 0 (possible only with linear or polynomial kernels).
    public static func kernelSmoothing(_ x: UnsafePointer<Float>, points: UnsafePointer<Float>, targets: UnsafePointer<Float>,
                                       count n: Int, dimension d: Int, kernel: KernelFunction) -> Float {
        var num: Double = 0, den: Double = 0
        if kernel.usesDistance {
            var nearest = Float.infinity
            for i in 0..<n { nearest = min(nearest, Kernels.squaredDistance(x, points + i * d, count: d)) }
            for i in 0..<n {
                let sq = Kernels.squaredDistance(x, points + i * d, count: d)
                let w: Float
                switch kernel {
                case .laplace(let s): w = expf(-(sq.squareRoot() - nearest.squareRoot()) / s)
                default: w = kernel.value(dot: 0, squaredDistance: sq - nearest)
                }
                num += Double(w) * Double(targets[i]); den += Double(w)
            }
        } else {
            for i in 0..<n {
                let w = kernel.value(dot: Kernels.dot(x, points + i * d, count: d), squaredDistance: 0)
                num += Double(w) * Double(targets[i]); den += Double(w)
            }
        }
        return den == 0 ? 0 : Float(num / den)
    }

    /// Doubles of scratch `localLinear` needs for `d` features.
    public static func localLinearScratch(dimension d: Int) -> Int { (d + 1) * (d + 2) }

    /// Local linear regression at x: fits a + bᵀ(xᵢ − x) to the targets by least squares with
    /// weights exp(−‖x − xᵢ‖²/σ) (relative to the nearest point, which leaves the fit unchanged)
    /// and returns a. A small ridge on b (1e-9 of the mean diagonal) keeps the solve defined when
    /// the weighted points do not span every direction. `scratch` holds `localLinearScratch(d)` doubles.
    public static func localLinear(_ x: UnsafePointer<Float>, points: UnsafePointer<Float>, targets: UnsafePointer<Float>,
                                   count n: Int, dimension d: Int, sigma: Float, scratch: UnsafeMutablePointer<Double>) -> Float {
        let m = d + 1
        let a = scratch, rhs = scratch + m * m
        for i in 0..<(m * m + m) { scratch[i] = 0 }
        var nearest = Float.infinity
        for i in 0..<n { nearest = min(nearest, Kernels.squaredDistance(x, points + i * d, count: d)) }
        for i in 0..<n {
            let p = points + i * d
            let w = Double(expf(-(Kernels.squaredDistance(x, p, count: d) - nearest) / sigma))
            if w == 0 { continue }
            // z = [1, p − x]; A += w z zᵀ (lower triangle), rhs += w z y.
            let y = Double(targets[i])
            for r in 0..<m {
                let zr = r == 0 ? 1 : Double(p[r - 1] - x[r - 1])
                let wz = w * zr
                rhs[r] += wz * y
                for c in 0...r {
                    let zc = c == 0 ? 1 : Double(p[c - 1] - x[c - 1])
                    a[r * m + c] += wz * zc
                }
            }
        }
        var trace = 0.0
        for r in 1..<max(m, 1) { trace += a[r * m + r] }
        let ridge = d > 0 ? 1e-9 * max(trace / Double(d), 1e-12) : 0
        for r in 1..<max(m, 1) { a[r * m + r] += ridge }
        guard choleskySolve(a, rhs, dimension: m) else { return nearestTarget(x, points: points, targets: targets, count: n, dimension: d) }
        return Float(rhs[0])
    }

    /// Solves A·s = b in place (s into b) for a symmetric positive definite A given by its lower
    /// triangle (row-major m × m). False when A is not positive definite.
    static func choleskySolve(_ a: UnsafeMutablePointer<Double>, _ b: UnsafeMutablePointer<Double>, dimension m: Int) -> Bool {
        for j in 0..<m {
            var diag = a[j * m + j]
            for k in 0..<j { diag -= a[j * m + k] * a[j * m + k] }
            guard diag > 0, diag.isFinite else { return false }
            let l = diag.squareRoot()
            a[j * m + j] = l
            for i in (j + 1)..<max(j + 1, m) {
                var s = a[i * m + j]
                for k in 0..<j { s -= a[i * m + k] * a[j * m + k] }
                a[i * m + j] = s / l
            }
        }
        for i in 0..<m { // L y = b
            var s = b[i]
            for k in 0..<i { s -= a[i * m + k] * b[k] }
            b[i] = s / a[i * m + i]
        }
        for i in stride(from: m - 1, through: 0, by: -1) { // Lᵀ s = y
            var s = b[i]
            for k in (i + 1)..<max(i + 1, m) { s -= a[k * m + i] * b[k] }
            b[i] = s / a[i * m + i]
        }
        return true
    }

    private static func nearestTarget(_ x: UnsafePointer<Float>, points: UnsafePointer<Float>, targets: UnsafePointer<Float>,
                                      count n: Int, dimension d: Int) -> Float {
        var best = Float.infinity, target: Float = 0
        for i in 0..<n {
            let s = Kernels.squaredDistance(x, points + i * d, count: d)
            if s < best { best = s; target = targets[i] }
        }
        return target
    }
}
