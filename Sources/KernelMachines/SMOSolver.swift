import Arena

/// The solution of one binary SVM dual.
public struct SMOResult {
    /// αᵢ in [0, C], in the arena the solver was given.
    public let alpha: UnsafeMutableBufferPointer<Double>
    /// b in the decision function f(x) = Σᵢ αᵢ yᵢ k(xᵢ, x) + b.
    public let bias: Double
    /// Pairs of α updated.
    public let iterations: Int
    /// Whether the maximal violating pair gap fell below the tolerance (false: iteration limit).
    public let converged: Bool
    /// The final gap max_{I_up} −yᵢGᵢ − min_{I_low} −yⱼGⱼ (0 at an exact optimum).
    public let gap: Double
    /// The dual objective ½αᵀQα − eᵀα at the solution.
    public let objective: Double
}

/// Sequential minimal optimisation for the C-SVC dual
///
///     min ½ αᵀQα − eᵀα   subject to 0 ≤ αᵢ ≤ C,  yᵀα = 0,   Q_ij = yᵢ yⱼ K_ij,
///
/// two variables at a time with second-order working-set selection (Fan, Chen & Lin, JMLR 2005):
/// i maximises −yᵢGᵢ over I_up = {t : αₜ < C, yₜ = 1 or αₜ > 0, yₜ = −1}; j, among the t in
/// I_low = {t : αₜ < C, yₜ = −1 or αₜ > 0, yₜ = 1} with −yₜGₜ < −yᵢGᵢ, minimises −b²/a where
/// b = −yᵢGᵢ + yₜGₜ and a = K_ii + K_tt − 2K_it (a tiny τ when a ≤ 0). That pair's analytic
/// minimum, clipped to the box, is the update; the gradient G = Qα − e is kept up to date with
/// kernel rows i and j. No shrinking: every iteration scans all n variables, which costs far
/// less than the kernel rows it saves on the problem sizes this is used for.
///
/// Stops when the maximal violating pair gap is below `tolerance` (the KKT conditions hold to that
/// accuracy). Hard margin is a large C.
public enum SMOSolver {
    /// Solves the dual for labels `y` (±1) over the cache's points. α is allocated in `arena`
    /// (kept); the gradient is scratch, released before returning.
    /// - Parameters:
    ///   - maxIterations: the guard against slow convergence; nil means max(10⁷, 100·n).
    /// - Precondition: `y` holds `cache.count` values, each +1 or −1, both signs present.
    public static func solve(labels y: UnsafePointer<Float>, cache: KernelRowCache, C: Double,
                             tolerance: Double = 1e-3, maxIterations: Int? = nil,
                             arena: ArenaAllocator) throws(KernelMachineError) -> SMOResult {
        let n = cache.count
        guard C > 0, C.isFinite else { throw .invalidParameter("C must be positive and finite, not \(C)") }
        guard tolerance > 0 else { throw .invalidParameter("tolerance must be positive, not \(tolerance)") }
        let limit = maxIterations ?? max(10_000_000, 100 * n)
        let alpha: UnsafeMutableBufferPointer<Double>
        do { alpha = try arena.allocate(Double.self, count: n) } catch { throw .arena(error) }
        alpha.initialize(repeating: 0)
        let mark = arena.mark()
        defer { arena.reset(to: mark) }
        let G: UnsafeMutableBufferPointer<Double>
        do { G = try arena.allocate(Double.self, count: n) } catch { throw .arena(error) }
        G.initialize(repeating: -1) // Qα − e at α = 0
        let diagonal = cache.diagonal
        let tau = 1e-12

        var iterations = 0, gap = 0.0, converged = false
        while true {
            // i: the most violating variable in I_up.
            var gMax = -Double.infinity, i = -1
            for t in 0..<n {
                let inUp = y[t] > 0 ? alpha[t] < C : alpha[t] > 0
                if inUp {
                    let v = y[t] > 0 ? -G[t] : G[t]
                    if v >= gMax { gMax = v; i = t }
                }
            }
            guard i >= 0 else { converged = true; gap = 0; break }
            let rowI = cache.row(i)
            let kii = Double(diagonal[i])
            // j: second-order choice in I_low; also the smallest −yG there, for the gap.
            var gMin = Double.infinity, j = -1, best = Double.infinity
            for t in 0..<n {
                let inLow = y[t] > 0 ? alpha[t] > 0 : alpha[t] < C
                guard inLow else { continue }
                let v = y[t] > 0 ? -G[t] : G[t]
                if v < gMin { gMin = v }
                let b = gMax - v
                if b > 0 {
                    var a = kii + Double(diagonal[t]) - 2 * Double(rowI[t])
                    if a <= 0 { a = tau }
                    let decrease = -(b * b) / a
                    if decrease <= best { best = decrease; j = t }
                }
            }
            gap = j >= 0 || gMin.isFinite ? gMax - gMin : 0
            if gap < tolerance || j < 0 { converged = true; break }
            if iterations >= limit { break }
            iterations += 1

            let rowJ = cache.row(j) // row i stays valid: the cache keeps the last two rows
            let yi = Double(y[i]), yj = Double(y[j])
            let oldI = alpha[i], oldJ = alpha[j]
            var ai = oldI, aj = oldJ
            var quad = kii + Double(diagonal[j]) - 2 * Double(rowI[j])
            if quad <= 0 { quad = tau }
            if yi != yj {
                // αᵢ − αⱼ is conserved: both move by the same step, then clip to the box.
                let delta = (-G[i] - G[j]) / quad
                let diff = ai - aj
                ai += delta; aj += delta
                if diff > 0 { if aj < 0 { aj = 0; ai = diff } } else { if ai < 0 { ai = 0; aj = -diff } }
                if diff > 0 { if ai > C { ai = C; aj = C - diff } } else { if aj > C { aj = C; ai = C + diff } }
            } else {
                // αᵢ + αⱼ is conserved: they move in opposite directions.
                let delta = (G[i] - G[j]) / quad
                let sum = ai + aj
                ai -= delta; aj += delta
                if sum > C { if ai > C { ai = C; aj = sum - C } } else { if aj < 0 { aj = 0; ai = sum } }
                if sum > C { if aj > C { aj = C; ai = sum - C } } else { if ai < 0 { ai = 0; aj = sum } }
            }
            alpha[i] = ai; alpha[j] = aj
            // G_t += Q_ti Δαᵢ + Q_tj Δαⱼ with Q_ti = yₜ yᵢ K_ti.
            let si = yi * (ai - oldI), sj = yj * (aj - oldJ)
            for t in 0..<n {
                G[t] += Double(y[t]) * (si * Double(rowI[t]) + sj * Double(rowJ[t]))
            }
        }

        // ρ = yᵢGᵢ on every free support vector (0 < αᵢ < C); averaged for robustness. Without free
        // ones, the midpoint of the interval the KKT conditions allow for ρ. Then b = −ρ.
        var freeSum = 0.0, freeCount = 0
        var upper = Double.infinity, lower = -Double.infinity
        var objective = 0.0
        for t in 0..<n {
            let yG = Double(y[t]) * G[t]
            objective += 0.5 * alpha[t] * (G[t] - 1)
            if alpha[t] > 0 && alpha[t] < C {
                freeSum += yG; freeCount += 1
            } else if (alpha[t] == 0) == (y[t] > 0) {
                upper = min(upper, yG) // αₜ = 0 with yₜ = 1, or αₜ = C with yₜ = −1
            } else {
                lower = max(lower, yG)
            }
        }
        let rho: Double
        if freeCount > 0 { rho = freeSum / Double(freeCount) }
        else if upper.isFinite && lower.isFinite { rho = (upper + lower) / 2 }
        else { rho = upper.isFinite ? upper : (lower.isFinite ? lower : 0) }
        return SMOResult(alpha: alpha, bias: -rho, iterations: iterations, converged: converged,
                         gap: gap, objective: objective)
    }
}
