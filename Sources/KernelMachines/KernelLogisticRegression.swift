import Arena
import Classic
import Infer
import Training
import ModelFile
import LowLevel
#if canImport(Glibc)
import Glibc
#endif

/// Binary kernel logistic regression: with w = Xᵀv (f = Kv + b on the training points) it
/// minimises
///
///     J(v, b) = (1/n) Σᵢ log(1 + exp(−yᵢ fᵢ)) + (λ/2) vᵀKv,   yᵢ = +1 for class 1, −1 for class 0,
///
/// by full-batch gradient descent. ∇_v J = K(g + λv) with gᵢ = −yᵢ σ(−yᵢfᵢ)/n; the step is taken
/// along −(g + λv), the gradient in the kernel's own geometry (the RKHS), which is a descent
/// direction and avoids the squared conditioning of K² that plain steps along −∇_v J suffer. The
/// step 1/L uses L = λ + (‖K‖ + n)/(4n), a bound on the curvature (‖K‖ by its largest row sum).
///
/// Outputs are probabilities [1 − σ(f(x)), σ(f(x))], f(x) = Σᵢ vᵢ k(x, xᵢ) + b. Exported as
/// `.kernel` over the training points then `.dense` with 2 outputs, weights (−vᵢ/2, +vᵢ/2) and
/// bias (−b/2, +b/2): the runtime's softmax for `.probabilities` maps (−f/2, f/2) to exactly
/// [1 − σ(f), σ(f)].
public struct KernelLogisticRegression: TrainedModel {
    public let lambda: Float
    /// b.
    public let bias: Float
    /// Gradient steps taken, and whether the gradient norm fell below the tolerance.
    public let iterations: Int
    public let converged: Bool
    /// J at the solution.
    public let loss: Double
    /// The exported expansion: training points, weights (−v/2, v/2), biases (−b/2, b/2).
    public let expansion: KernelExpansion
    /// With a validation set: what early stopping did (epochs are gradient steps here).
    public var validationReport: LinearModelTrainer.ValidationReport? = nil
    private let halves: UnsafeMutableBufferPointer<Float>

    public var kernel: KernelFunction { expansion.kernel }
    /// vᵢ = 2 × the second output's weight.
    public func weight(_ i: Int) -> Float { 2 * expansion.coefficients[i, 1] }
    public var inputCount: Int { expansion.inputCount }
    public var outputCount: Int { 2 }
    public var outputKind: ModelFormat.OutputKind { .probabilities }

    /// The arena bytes `fit` takes: points, coefficients, the expansion and two floats are kept;
    /// the Gram matrix and the iteration's vectors are released before the expansion is made.
    public static func arenaBytes(for set: SampleSet, validationRows: Int? = nil) -> FitArenaBytes {
        let n = set.count, d = set.featureCount
        let base = ArenaAllocator.footprint(of: Float.self, count: n * d) + ArenaAllocator.footprint(of: Float.self, count: 2 * n)
        var scratch = ArenaAllocator.footprint(of: Float.self, count: n * n) + 5 * ArenaAllocator.footprint(of: Float.self, count: n)
        if let m = validationRows {
            scratch += ArenaAllocator.footprint(of: Float.self, count: m * n) + 2 * ArenaAllocator.footprint(of: Float.self, count: m)
                + ArenaAllocator.footprint(of: Float.self, count: n)
        }
        let kept = base + KernelExpansion.arenaBytes(points: n) + ArenaAllocator.footprint(of: Float.self, count: 2)
        return FitArenaBytes(peak: max(base + scratch, kept), kept: kept)
    }

    public func predictionArenaBytes(rows: Int) -> Int { KernelExpansion.evaluationArenaBytes(rows: rows, points: expansion.points.rows) }

    /// Fits on a two-class set (class 1 is the positive one).
    /// - Parameters:
    ///   - lambda: λ > 0 (the regularisation keeps v finite on separable data).
    ///   - iterations: the most gradient steps; `tolerance` stops earlier, on the gradient norm
    ///     √((g + λv)ᵀK(g + λv) + (Σg)²).
    ///   - validation: held-out rows; the steps stop once their loss has not fallen for
    ///     `patience` steps, and the best step's weights are kept.
    /// - Throws: `.invalidParameter` for other sets or parameters, `.invalidKernel`, `.arena`.
    ///   The arena keeps the training points and the weights; K (4n² bytes) is scratch.
    public static func fit(_ set: SampleSet, kernel spec: KernelSpec = .gaussian(), lambda: Float = 1e-3,
                           iterations maxIterations: Int = 2000, tolerance: Float = 1e-4,
                           validation: SampleSet? = nil, patience: Int = 3,
                           arena: ArenaAllocator) throws(KernelMachineError) -> KernelLogisticRegression {
        guard set.isClassification, set.classCount == 2, set.count > 0, set.featureCount > 0 else {
            throw .invalidParameter("kernel logistic regression needs a non-empty two-class set")
        }
        guard lambda > 0, lambda.isFinite else { throw .invalidParameter("lambda must be positive, not \(lambda)") }
        let kernel = try spec.resolved(for: set.features)
        let n = set.count, d = set.featureCount
        let points: UnsafeMutableBufferPointer<Float>, coefficients: UnsafeMutableBufferPointer<Float>
        do {
            points = try arena.allocate(Float.self, count: n * d)
            points.baseAddress!.update(from: set.features.base, count: n * d)
            coefficients = try arena.allocateFloats(n * 2)
        } catch { throw .arena(error) }
        let x = Matrix(points, rows: n, columns: d)

        let mark = arena.mark()
        let gram: UnsafeMutableBufferPointer<Float>, norms: UnsafeMutableBufferPointer<Float>
        let v: UnsafeMutableBufferPointer<Float>, f: UnsafeMutableBufferPointer<Float>
        let u: UnsafeMutableBufferPointer<Float>, ku: UnsafeMutableBufferPointer<Float>
        do {
            gram = try arena.allocate(Float.self, count: n * n)
            norms = try arena.allocate(Float.self, count: n)
            v = try arena.allocateFloats(n)
            f = try arena.allocateFloats(n)
            u = try arena.allocateFloats(n)
            ku = try arena.allocateFloats(n)
        } catch { arena.reset(to: mark); throw .arena(error) }
        KernelBlock.squaredNorms(x, into: norms.baseAddress!)
        KernelBlock.compute(kernel, a: x, aNorms: norms.baseAddress!, b: x, bNorms: norms.baseAddress!,
                            into: gram.baseAddress!, ldc: n)
        // Early stopping: the validation rows' kernel values against the training points, their
        // decision values, and the best step's v.
        var check: (set: SampleSet, gram: UnsafeMutableBufferPointer<Float>, f: UnsafeMutableBufferPointer<Float>,
                    bestV: UnsafeMutableBufferPointer<Float>)? = nil
        if let validation {
            let m = validation.count
            do {
                let block = try arena.allocate(Float.self, count: m * n), vNorms = try arena.allocate(Float.self, count: m)
                check = (validation, block, try arena.allocateFloats(m), try arena.allocateFloats(n))
                KernelBlock.squaredNorms(validation.features, into: vNorms.baseAddress!)
                KernelBlock.compute(kernel, a: validation.features, aNorms: vNorms.baseAddress!, b: x, bNorms: norms.baseAddress!,
                                    into: block.baseAddress!, ldc: n)
            } catch { arena.reset(to: mark); throw .arena(error) }
        }
        var validationLosses: [Double] = [], rule = EarlyStoppingRule(patience: patience), bestB: Float = 0
        /// Mean logistic loss of f = K_val·v + b on the validation rows.
        func validationLoss(_ b: Float) -> Double {
            guard let c = check else { return .nan }
            let m = c.set.count
            Kernels.gemm(.none, .none, m: m, n: 1, k: n, alpha: 1, a: c.gram.baseAddress!, lda: n, b: v.baseAddress!, ldb: 1,
                         beta: 0, c: c.f.baseAddress!, ldc: 1)
            var total = 0.0
            for i in 0..<m {
                let z = Double((c.set.labels[i] == 1 ? 1 : -1) * (c.f[i] + b))
                total += z > 0 ? log1p(exp(-z)) : -z + log1p(exp(z))
            }
            return total / Double(max(m, 1))
        }
        var rowSumMax: Float = 0
        for i in 0..<n {
            var s: Float = 0
            for j in 0..<n { s += abs(gram[i * n + j]) }
            rowSumMax = max(rowSumMax, s)
        }
        let step = 1 / (lambda + (rowSumMax + Float(n)) / (4 * Float(n)))
        var b: Float = 0, steps = 0, converged = false
        let y = { (i: Int) -> Float in set.labels[i] == 1 ? 1 : -1 }
        while steps < maxIterations {
            var gSum: Float = 0
            for i in 0..<n {
                let g = -y(i) / (1 + expf(y(i) * f[i])) / Float(n) // −yᵢσ(−yᵢfᵢ)/n
                u[i] = g + lambda * v[i]
                gSum += g
            }
            Kernels.gemm(.none, .none, m: n, n: 1, k: n, alpha: 1, a: gram.baseAddress!, lda: n,
                         b: u.baseAddress!, ldb: 1, beta: 0, c: ku.baseAddress!, ldc: 1)
            let norm = (Kernels.dot(u.baseAddress!, ku.baseAddress!, count: n) + gSum * gSum).squareRoot()
            if norm < tolerance { converged = true; break }
            // v ← v − ηu, b ← b − ηΣg, and f = Kv + b follows without another product.
            Kernels.axpy(-step, u.baseAddress!, v.baseAddress!, count: n)
            Kernels.axpy(-step, ku.baseAddress!, f.baseAddress!, count: n)
            b -= step * gSum
            for i in 0..<n { f[i] -= step * gSum }
            steps += 1
            if let c = check {
                let value = validationLoss(b)
                validationLosses.append(value)
                if rule.record(value, epoch: steps) {
                    bestB = b
                    _ = c.bestV.update(fromContentsOf: v)
                } else if rule.patienceRanOut {
                    break
                }
            }
        }
        let stoppedEarly = check != nil && rule.patienceRanOut, bestStep = rule.bestEpoch
        if let c = check, bestStep > 0 {
            _ = v.update(fromContentsOf: c.bestV)
            b = bestB
        }
        // The loss at the final v, from a fresh f = Kv + b (no accumulated rounding).
        Kernels.gemm(.none, .none, m: n, n: 1, k: n, alpha: 1, a: gram.baseAddress!, lda: n,
                     b: v.baseAddress!, ldb: 1, beta: 0, c: f.baseAddress!, ldc: 1)
        var loss = 0.0
        for i in 0..<n {
            let z = Double(y(i) * (f[i] + b))
            loss += (z > 0 ? log1p(exp(-z)) : -z + log1p(exp(z))) / Double(n)
            loss += 0.5 * Double(lambda) * Double(v[i]) * Double(f[i])
        }
        for i in 0..<n { coefficients[2 * i] = -v[i] / 2; coefficients[2 * i + 1] = v[i] / 2 }
        arena.reset(to: mark)
        let expansion: KernelExpansion, halves: UnsafeMutableBufferPointer<Float>
        do {
            expansion = try KernelExpansion(kernel: kernel, points: x, coefficients: Matrix(coefficients, rows: n, columns: 2),
                                            bias: [-b / 2, b / 2], arena: arena)
            halves = try arena.allocate(Float.self, count: 2)
        } catch { throw .arena(error) }
        var model = KernelLogisticRegression(lambda: lambda, bias: b, iterations: steps, converged: converged,
                                             loss: loss, expansion: expansion, halves: halves)
        if check != nil && bestStep > 0 {
            model.validationReport = LinearModelTrainer.ValidationReport(losses: validationLosses, bestEpoch: bestStep, stoppedEarly: stoppedEarly)
        }
        return model
    }

    /// f(x) = Σᵢ vᵢ k(x, xᵢ) + b, the log-odds of class 1.
    public func decisionValue(_ input: UnsafePointer<Float>) -> Float {
        expansion.evaluate(input, into: halves.baseAddress!)
        return halves[1] - halves[0]
    }

    public func predict(_ input: UnsafePointer<Float>, into output: UnsafeMutablePointer<Float>) {
        expansion.evaluate(input, into: output)
        Self.probabilities(output)
    }

    public func predict(_ x: Matrix, into output: Matrix, arena: ArenaAllocator) throws(ArenaError) {
        try expansion.evaluate(x, into: output, arena: arena)
        for r in 0..<x.rows { Self.probabilities(output.row(r)) }
    }

    /// (−f/2, f/2) → [1 − σ(f), σ(f)], each side computed without cancellation.
    private static func probabilities(_ o: UnsafeMutablePointer<Float>) {
        let f = o[1] - o[0]
        o[0] = 1 / (1 + expf(f))
        o[1] = 1 / (1 + expf(-f))
    }

    public var stages: [ModelStage] { expansion.stages }
}
