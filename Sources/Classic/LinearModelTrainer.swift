import Arena
import Infer
import Training
import ModelFile
import LowLevel
#if canImport(Glibc)
import Glibc
#endif

/// Gradient descent for linear scores Z = XW + b under a per-sample loss, with optional L2 on W:
/// minimises (1/n)Σ loss(zᵢ, yᵢ) + (λ/2)‖W‖². Full batch (`batchSize` 0 or ≥ n), SGD
/// (`batchSize` 1) or minibatches, with samples reshuffled every epoch from a seeded generator
/// (same seed, same weights). The step size decays as η₀ / (1 + decay·epoch).
///
/// Memory: W, its gradient, the score and batch buffers come from the arena; a step allocates nothing.
public enum LinearModelTrainer {
    public enum Loss: Sendable {
        /// Binary logistic loss log(1 + exp(−y·z)) on ±1 labels (one column).
        case logistic
        /// Cross-entropy of softmax(z) against the class (one column per class).
        case softmax
        /// Hinge loss max(0, 1 − y·z) on ±1 labels per column (the soft-margin SVM primal,
        /// minimised by subgradient descent); with class labels, column c uses +1 for class c.
        case hinge
        /// The perceptron loss −min(y·z, 0) = max(0, −y·z), with the subgradient −y wherever
        /// y·z ≤ 0 (as the perceptron updates on a zero margin too): SGD on it with step 1, batch 1,
        /// no shuffling and no regularisation is Rosenblatt's perceptron.
        case perceptron
    }

    public enum Targets {
        /// ±1 per sample (one column).
        case signs(UnsafePointer<Float>)
        /// Class index per sample (softmax, or one-vs-all columns).
        case classes(UnsafePointer<Int32>)
    }

    public struct Settings: Sendable {
        public var epochs = 20
        /// 0 means the whole set (full-batch gradient descent).
        public var batchSize = 64
        public var learningRate: Float = 0.1
        public var decay: Float = 0
        /// L2 strength λ on the weights (not the bias).
        public var lambda: Float = 0
        public var seed: UInt64 = 42
        /// Return the average of the iterates of the second half of training instead of the last
        /// one (Polyak–Ruppert averaging): subgradient descent on the non-smooth hinge loss
        /// oscillates around the optimum, and the average converges where the last iterate does not.
        public var averaging = false
        /// Visit the samples in a fresh seeded order every epoch (else always in order).
        public var shuffle = true
        public init() {}
    }

    /// Defaults by data size. Up to 10,000 samples: full-batch descent for 3,000 epochs, step 1
    /// decaying as 1/(1 + 0.01·epoch), averaged over the second half, with λ = 1/n (C = 1): close
    /// to the exact optimum, which is what comparisons with exact solvers need. Larger sets:
    /// minibatches of 32, step `rate` decaying as 1/(1 + `decay`·epoch), 30 epochs, λ = 0.
    public static func defaults(samples n: Int, rate: Float, decay: Float) -> Settings {
        var s = Settings()
        if n <= 10_000 {
            s.epochs = 3000; s.batchSize = 0; s.learningRate = 1; s.decay = 0.01; s.averaging = true
            s.lambda = 1 / Float(max(n, 1))
        } else {
            s.epochs = 30; s.batchSize = 32; s.learningRate = rate; s.decay = decay
        }
        return s
    }

    /// Rows held out for early stopping: after each epoch the mean loss of the weights training
    /// would return (the average, once averaging has begun) is measured on them, and training
    /// stops once it has not fallen for `patience` epochs; the best epoch's weights are returned.
    public struct Validation {
        public var x: Matrix
        public var targets: Targets
        public var patience: Int
        public init(x: Matrix, targets: Targets, patience: Int) { self.x = x; self.targets = targets; self.patience = patience }

        /// A held-out set with class targets (softmax, one-vs-all columns).
        public static func classes(_ set: SampleSet, patience: Int) -> Validation {
            Validation(x: set.features, targets: .classes(set.labels.baseAddress!), patience: patience)
        }

        /// A held-out two-class set with ±1 targets, class 1 positive (its signs go into `arena`).
        public static func signs(_ set: SampleSet, patience: Int, arena: ArenaAllocator) throws(ArenaError) -> Validation {
            Validation(x: set.features, targets: .signs(try set.signs(positive: 1, arena: arena).baseAddress!), patience: patience)
        }
    }

    /// What early stopping did: each epoch's validation loss, the epoch (from 1) whose weights
    /// were returned, and whether it ended training before `epochs`.
    public struct ValidationReport: Sendable {
        public var losses: [Double]
        public var bestEpoch: Int
        public var stoppedEarly: Bool
        public init(losses: [Double], bestEpoch: Int, stoppedEarly: Bool) {
            self.losses = losses; self.bestEpoch = bestEpoch; self.stoppedEarly = stoppedEarly
        }
    }

    public struct Result {
        /// [d, columns] row-major.
        public var weight: [Float]
        public var bias: [Float]
        /// Mean loss (without the L2 term) over each epoch's batches.
        public var epochLosses: [Double]
        /// With validation: each epoch's validation loss, and the epoch (from 1) whose weights these are.
        public var validationLosses: [Double] = []
        public var bestEpoch: Int? = nil
        /// Whether the validation rule ended training before `epochs`.
        public var stoppedEarly = false
        public var validationReport: ValidationReport? {
            bestEpoch.map { ValidationReport(losses: validationLosses, bestEpoch: $0, stoppedEarly: stoppedEarly) }
        }
    }

    public struct DivergedError: Error, CustomStringConvertible {
        public let epoch: Int
        public var description: String {
            "training diverged in epoch \(epoch) (the loss became NaN or infinite); lower the learning rate"
        }
    }

    /// Arena bytes of a two-class fit: the ±1 labels of the `n` training rows (and of the
    /// `validationRows` held out, if any), then `train` with one column.
    public static func binaryFitArenaBytes(samples n: Int, features d: Int, batchSize: Int, validationRows: Int?) -> Int {
        ArenaAllocator.footprint(of: Float.self, count: n) + (validationRows.map { ArenaAllocator.footprint(of: Float.self, count: $0) } ?? 0)
            + arenaBytes(samples: n, features: d, columns: 1, batchSize: batchSize, validating: validationRows != nil)
    }

    /// Arena bytes of a fit with one ±1 column for two classes, else one column per class
    /// (logistic regression, the one-vs-all SVM), with `validationRows` held out if given.
    public static func columnsFitArenaBytes(for set: SampleSet, batchSize: Int, validationRows: Int?) -> Int {
        let (n, d, k) = (set.count, set.featureCount, set.classCount)
        if k == 2 { return binaryFitArenaBytes(samples: n, features: d, batchSize: batchSize, validationRows: validationRows) }
        return arenaBytes(samples: n, features: d, columns: k, batchSize: batchSize, validating: validationRows != nil)
    }

    /// Arena bytes `train` needs beyond the data (`validating`: with a `Validation`).
    public static func arenaBytes(samples n: Int, features d: Int, columns c: Int, batchSize: Int, validating: Bool = false) -> Int {
        arenaBytes(samples: n, features: d, columns: c, batchSize: batchSize)
            + (validating ? ArenaAllocator.footprint(of: Float.self, count: d * c) + ArenaAllocator.footprint(of: Float.self, count: c) : 0)
    }

    private static func arenaBytes(samples n: Int, features d: Int, columns c: Int, batchSize: Int) -> Int {
        let b = batchSize <= 0 ? n : min(batchSize, n)
        return ArenaAllocator.footprint(of: Float.self, count: d * c) * 2 + ArenaAllocator.footprint(of: Float.self, count: c) * 2
            + ArenaAllocator.footprint(of: Float.self, count: b * c) + ArenaAllocator.footprint(of: Float.self, count: b * d)
            + ArenaAllocator.footprint(of: Int32.self, count: n) + ArenaAllocator.footprint(of: Float.self, count: b)
            + ArenaAllocator.footprint(of: Int32.self, count: b) + ArenaAllocator.footprint(of: Float.self, count: d * c)
            + ArenaAllocator.footprint(of: Float.self, count: c)
    }

    public static func train(_ x: Matrix, targets: Targets, columns c: Int, loss: Loss, settings: Settings,
                             validation: Validation? = nil, arena: ArenaAllocator) throws -> Result {
        let (n, d) = (x.rows, x.columns)
        precondition(n > 0 && c > 0)
        let batch = settings.batchSize <= 0 ? n : min(settings.batchSize, n)
        let mark = arena.mark()
        defer { arena.reset(to: mark) }
        let w = try arena.allocateFloats(d * c), gw = try arena.allocateFloats(d * c)
        let b = try arena.allocateFloats(c), gb = try arena.allocateFloats(c)
        let z = try arena.allocateFloats(batch * c)
        let xb = try arena.allocateFloats(batch * d)
        let order = try arena.allocate(Int32.self, count: n)
        let signs = try arena.allocateFloats(batch)
        let classes = try arena.allocate(Int32.self, count: batch)
        let averageW = try arena.allocateFloats(d * c), averageB = try arena.allocateFloats(c)
        var averaged = 0
        let bestW = try validation.map { _ in try arena.allocateFloats(d * c) }, bestB = try validation.map { _ in try arena.allocateFloats(c) }
        var validationLosses: [Double] = [], rule = EarlyStoppingRule(patience: validation?.patience ?? 1)
        validationLosses.reserveCapacity(validation == nil ? 0 : settings.epochs)
        /// The mean loss of scores x·W + b against the validation rows, `batch` rows at a time.
        func validationLoss(_ v: Validation, _ weight: UnsafePointer<Float>, _ bias: UnsafePointer<Float>) -> Double {
            var total = 0.0, start = 0
            while start < v.x.rows {
                let m = min(batch, v.x.rows - start)
                for r in 0..<m {
                    switch v.targets {
                    case .signs(let y): signs[r] = y[start + r]
                    case .classes(let y): classes[r] = y[start + r]
                    }
                    (z.baseAddress! + r * c).update(from: bias, count: c)
                }
                Kernels.gemm(.none, .none, m: m, n: c, k: d, alpha: 1, a: v.x.row(start), lda: d, b: weight, ldb: c,
                             beta: 1, c: z.baseAddress!, ldc: c)
                total += lossGradient(loss, z.baseAddress!, rows: m, columns: c, targets: v.targets,
                                      signs: signs.baseAddress!, classes: classes.baseAddress!)
                start += m
            }
            return total / Double(max(v.x.rows, 1))
        }
        for i in 0..<n { order[i] = Int32(i) }
        var rng = RandomGenerator(seed: settings.seed)
        var losses: [Double] = []
        losses.reserveCapacity(settings.epochs)
        for epoch in 0..<settings.epochs {
            if batch < n && settings.shuffle { rng.shuffle(order) }
            let eta = settings.learningRate / (1 + settings.decay * Float(epoch))
            var total = 0.0
            var start = 0
            while start < n {
                let m = min(batch, n - start)
                for r in 0..<m {
                    let i = Int(order[start + r])
                    (xb.baseAddress! + r * d).update(from: x.row(i), count: d)
                    switch targets {
                    case .signs(let y): signs[r] = y[i]
                    case .classes(let y): classes[r] = y[i]
                    }
                }
                // Z = Xb·W + b
                for r in 0..<m { (z.baseAddress! + r * c).update(from: b.baseAddress!, count: c) }
                Kernels.gemm(.none, .none, m: m, n: c, k: d, alpha: 1, a: xb.baseAddress!, lda: d, b: w.baseAddress!, ldb: c,
                             beta: 1, c: z.baseAddress!, ldc: c)
                total += lossGradient(loss, z.baseAddress!, rows: m, columns: c, targets: targets,
                                      signs: signs.baseAddress!, classes: classes.baseAddress!)
                // z now holds dLoss/dZ / m. gW = Xbᵀ·G, gb = column sums.
                Kernels.gemm(.transposed, .none, m: d, n: c, k: m, alpha: 1, a: xb.baseAddress!, lda: d, b: z.baseAddress!, ldb: c,
                             beta: 0, c: gw.baseAddress!, ldc: c)
                Kernels.fill(gb.baseAddress!, with: 0, count: c)
                Kernels.accumulateColumnSums(z.baseAddress!, rows: m, columns: c, into: gb.baseAddress!)
                // W ← W − η(gW + λW), b ← b − η·gb
                if settings.lambda != 0 { Kernels.scale(w.baseAddress!, by: 1 - eta * settings.lambda, count: d * c) }
                Kernels.axpy(-eta, gw.baseAddress!, w.baseAddress!, count: d * c)
                Kernels.axpy(-eta, gb.baseAddress!, b.baseAddress!, count: c)
                if settings.averaging && 2 * epoch >= settings.epochs {
                    averaged += 1
                    let share = 1 / Float(averaged)
                    // avg += (w − avg)/count
                    Kernels.scale(averageW.baseAddress!, by: 1 - share, count: d * c)
                    Kernels.axpy(share, w.baseAddress!, averageW.baseAddress!, count: d * c)
                    Kernels.scale(averageB.baseAddress!, by: 1 - share, count: c)
                    Kernels.axpy(share, b.baseAddress!, averageB.baseAddress!, count: c)
                }
                start += m
            }
            let mean = total / Double(n)
            guard mean.isFinite, Kernels.allFinite(w.baseAddress!, count: d * c) else { throw DivergedError(epoch: epoch + 1) }
            losses.append(mean)
            if let validation, let bestW, let bestB {
                let (currentW, currentB) = averaged > 0 ? (averageW, averageB) : (w, b)
                let value = validationLoss(validation, currentW.baseAddress!, currentB.baseAddress!)
                validationLosses.append(value)
                if rule.record(value, epoch: epoch + 1) {
                    _ = bestW.update(fromContentsOf: currentW); _ = bestB.update(fromContentsOf: currentB)
                } else if rule.patienceRanOut {
                    break
                }
            }
        }
        if let bestW, let bestB, rule.bestEpoch > 0 {
            return Result(weight: Array(bestW), bias: Array(bestB), epochLosses: losses, validationLosses: validationLosses,
                          bestEpoch: rule.bestEpoch, stoppedEarly: losses.count < settings.epochs)
        }
        if averaged > 0 { return Result(weight: Array(averageW), bias: Array(averageB), epochLosses: losses) }
        return Result(weight: Array(w), bias: Array(b), epochLosses: losses)
    }

    /// Replaces the scores in `z` (rows × columns) with the loss gradient divided by `rows`, and
    /// returns the summed loss of the rows.
    public static func lossGradient(_ loss: Loss, _ z: UnsafeMutablePointer<Float>, rows m: Int, columns c: Int, targets: Targets,
                             signs: UnsafePointer<Float>, classes: UnsafePointer<Int32>) -> Double {
        let inv = 1 / Float(m)
        var total = 0.0
        func sign(_ r: Int, _ j: Int) -> Float {
            if case .signs = targets { return signs[r] }
            return Int(classes[r]) == j ? 1 : -1
        }
        switch loss {
        case .logistic:
            for r in 0..<m {
                for j in 0..<c {
                    let y = sign(r, j), margin = y * z[r * c + j]
                    // log(1 + e^(−margin)) computed stably; its derivative in z is −y·σ(−margin).
                    total += Double(margin > 0 ? log1pf(expf(-margin)) : -margin + log1pf(expf(margin)))
                    let p = 1 / (1 + expf(margin))
                    z[r * c + j] = -y * p * inv
                }
            }
        case .softmax:
            guard case .classes = targets else { preconditionFailure("softmax needs class targets") }
            for r in 0..<m {
                let row = z + r * c
                let lse = Kernels.logSumExp(row, count: c)
                let y = Int(classes[r])
                total += Double(lse - row[y])
                for j in 0..<c { row[j] = expf(row[j] - lse) * inv }
                row[y] -= inv
            }
        case .hinge:
            for r in 0..<m {
                for j in 0..<c {
                    let y = sign(r, j), margin = y * z[r * c + j]
                    if margin < 1 { total += Double(1 - margin); z[r * c + j] = -y * inv } else { z[r * c + j] = 0 }
                }
            }
        case .perceptron:
            for r in 0..<m {
                for j in 0..<c {
                    let y = sign(r, j), margin = y * z[r * c + j]
                    if margin <= 0 { total -= Double(margin); z[r * c + j] = -y * inv } else { z[r * c + j] = 0 }
                }
            }
        }
        return total
    }
}
