import Testing
import Foundation
import Arena
import Classic
import Infer
import Training
import ModelFile
import LowLevel

@Suite struct LinearClassifierTests {
    init() { BLAS.configure(threads: 1) }

    func set(_ points: [[Float]], _ labels: [Int32], classes: Int = 2, arena: ArenaAllocator) throws -> SampleSet {
        try SampleSet(values: points.flatMap { $0 }, rows: points.count, columns: points[0].count, labels: labels,
                      classCount: classes, arena: arena)
    }

    /// The course's OR example converges, and within the perceptron bound R²/γ² (R and γ of the
    /// augmented points (x, 1), γ from the best separator found by a fine search over directions,
    /// which can only underestimate the true margin and so only loosens the bound).
    @Test func perceptronLearnsORWithinTheMistakeBound() throws {
        let arena = try ArenaAllocator(capacity: 1 << 16)
        let points: [[Float]] = [[0, 0], [0, 1], [1, 0], [1, 1]]
        let data = try set(points, [0, 1, 1, 1], arena: arena)
        let model = try Perceptron.fit(data, arena: arena)
        let report = model.reports[0]
        #expect(report.stop == .converged)
        #expect(report.trainingErrors == 0)
        #expect(try model.accuracy(on: data, arena: arena) == 1)
        let r2 = points.map { $0[0] * $0[0] + $0[1] * $0[1] + 1 }.max()!
        var gamma: Float = 0
        let steps = 200
        for i in 0...steps {
            for j in 0...steps {
                let theta = Float.pi * Float(i) / Float(steps), phi = 2 * Float.pi * Float(j) / Float(steps)
                let u = [sinf(theta) * cosf(phi), sinf(theta) * sinf(phi), cosf(theta)]
                let signs: [Float] = [-1, 1, 1, 1]
                var m = Float.infinity
                for (p, y) in zip(points, signs) {
                    let score: Float = u[0] * p[0] + u[1] * p[1] + u[2]
                    m = min(m, y * score)
                }
                gamma = max(gamma, m)
            }
        }
        #expect(gamma > 0)
        #expect(Float(report.mistakes) <= r2 / (gamma * gamma))
        #expect(report.mistakes > 0)
    }

    @Test func perceptronStopsCleanlyOnXOR() throws {
        let arena = try ArenaAllocator(capacity: 1 << 16)
        let data = try set([[0, 0], [0, 1], [1, 0], [1, 1]], [0, 1, 1, 0], arena: arena)
        var s = Perceptron.Settings()
        s.maxPasses = 50
        s.stopRule = .none
        let capped = try Perceptron.fit(data, settings: s, arena: arena)
        #expect(capped.reports[0].stop == .maxPasses)
        #expect(capped.reports[0].passes == 50)
        #expect(capped.reports[0].trainingErrors > 0)
        s.stopRule = .error
        s.patience = 3
        let stalled = try Perceptron.fit(data, settings: s, arena: arena)
        #expect(stalled.reports[0].stop == .errorStalled)
        #expect(stalled.reports[0].passes < 50)
        // The default: XOR's perceptron loss cycles without falling, so it stops after the first
        // pass plus `patience` passes without improvement.
        let byLoss = try Perceptron.fit(data, settings: Perceptron.Settings(), arena: arena)
        #expect(byLoss.reports[0].stop == .lossStalled)
        #expect(byLoss.reports[0].passes <= 1 + Perceptron.Settings().effectivePatience + 4)
    }

    /// The loss rule follows its definition: on random labels (never separable), training stops
    /// at the first pass p where none of the last `patience` passes beat the best loss before
    /// them by tolerance·n, which the test recomputes from per-pass losses of capped runs.
    @Test func perceptronLossRuleStopsWhereTheLossStalls() throws {
        let arena = try ArenaAllocator(capacity: 1 << 20)
        var rng = RandomGenerator(seed: 9)
        let points = (0..<80).map { _ in [rng.nextGaussian(), rng.nextGaussian(), rng.nextGaussian()] }
        let labels = (0..<80).map { _ in Int32(rng.nextUniform() < 0.5 ? 0 : 1) }
        let data = try set(points, labels, arena: arena)
        var s = Perceptron.Settings()
        s.tolerance = 0.01
        s.patience = 3
        let stopped = try Perceptron.fit(data, settings: s, arena: arena).reports[0]
        #expect(stopped.stop == .lossStalled)
        // Loss of each pass, from runs capped at 1, 2, ... passes with no early stop.
        var capped = s
        capped.stopRule = .none
        var losses: [Double] = []
        for passes in 1...stopped.passes {
            capped.maxPasses = passes
            losses.append(try Perceptron.fit(data, settings: capped, arena: arena).reports[0].lastPassLoss)
        }
        var best = Double.infinity, since = 0, expectedStop = 0
        for (p, loss) in losses.enumerated() {
            since = loss > best - 0.01 * 80 ? since + 1 : 0
            best = min(best, loss)
            if since >= 3 { expectedStop = p + 1; break }
        }
        #expect(expectedStop == stopped.passes)
    }

    /// Three separable clusters: one-vs-all and one-vs-one both classify them all.
    @Test func multiclassStrategies() throws {
        let arena = try ArenaAllocator(capacity: 1 << 20)
        var points: [[Float]] = [], labels: [Int32] = []
        var rng = RandomGenerator(seed: 5)
        let centres: [[Float]] = [[0, 5], [5, -3], [-5, -3]]
        for i in 0..<60 {
            let c = i % 3
            points.append([centres[c][0] + rng.nextGaussian(), centres[c][1] + rng.nextGaussian()])
            labels.append(Int32(c))
        }
        let data = try set(points, labels, classes: 3, arena: arena)
        for strategy in MulticlassStrategy.allCases {
            var s = Perceptron.Settings()
            s.multiclass = strategy
            let p = try Perceptron.fit(data, settings: s, arena: arena)
            #expect(p.reports.count == 3)
            #expect(try p.accuracy(on: data, arena: arena) == 1, "perceptron \(strategy)")
            let svm = try LinearSVM.fit(data, multiclass: strategy, arena: arena)
            #expect(try svm.accuracy(on: data, arena: arena) == 1, "linear SVM \(strategy)")
            #expect(svm.stages.count == (strategy == .oneVsOne ? 2 : 1))
        }
        let softmax = try SoftmaxRegression.fit(data, arena: arena)
        #expect(try softmax.accuracy(on: data, arena: arena) == 1)
        var out = [Float](repeating: 0, count: 3)
        softmax.predict(points[0], into: &out)
        #expect(abs(out.reduce(0, +) - 1) < 1e-5)
    }

    /// The gradient each loss writes back equals the finite-difference derivative of the summed
    /// loss divided by the batch rows.
    @Test func lossGradientsMatchFiniteDifferences() throws {
        let rows = 3, columns = 4
        let z0 = (0..<(rows * columns)).map { Float($0 % 5) * 0.7 - 1.3 }
        let signs: [Float] = [1, -1, 1]
        let classes: [Int32] = [2, 0, 3]
        for loss in [LinearModelTrainer.Loss.logistic, .softmax, .hinge] {
            for useSigns in [true, false] where !(loss == .softmax && useSigns) {
                func run(_ z: [Float]) -> (Double, [Float]) {
                    var copy = z
                    let total = copy.withUnsafeMutableBufferPointer { zp in
                        signs.withUnsafeBufferPointer { s in
                            classes.withUnsafeBufferPointer { c in
                                LinearModelTrainer.lossGradient(loss, zp.baseAddress!, rows: rows, columns: useSigns ? 1 : columns,
                                                                targets: useSigns ? .signs(s.baseAddress!) : .classes(c.baseAddress!),
                                                                signs: s.baseAddress!, classes: c.baseAddress!)
                            }
                        }
                    }
                    return (total, copy)
                }
                let width = useSigns ? 1 : columns
                let z = Array(z0.prefix(rows * width))
                let (_, gradient) = run(z)
                for i in 0..<z.count {
                    var plus = z, minus = z
                    let h: Float = 1e-2
                    plus[i] += h; minus[i] -= h
                    let numeric = (run(plus).0 - run(minus).0) / Double(2 * h) / Double(rows)
                    #expect(abs(numeric - Double(gradient[i])) < 2e-3, "\(loss) signs=\(useSigns) entry \(i)")
                }
            }
        }
    }

    @Test func logisticRegressionGivesProbabilitiesAndSeparates() throws {
        let arena = try ArenaAllocator(capacity: 1 << 20)
        var points: [[Float]] = [], labels: [Int32] = []
        var rng = RandomGenerator(seed: 9)
        for i in 0..<100 {
            let y = Int32(i % 2)
            points.append([rng.nextGaussian() + (y == 1 ? 2 : -2), rng.nextGaussian()])
            labels.append(y)
        }
        let data = try set(points, labels, arena: arena)
        // Full batch (the small-data default), minibatches, and plain SGD.
        var minibatch = LogisticRegression.defaultSettings(samples: 1_000_000)
        minibatch.epochs = 50
        var sgd = minibatch
        sgd.batchSize = 1
        sgd.learningRate = 0.01
        for settings in [LogisticRegression.defaultSettings(samples: 100), minibatch, sgd] {
            let model = try LogisticRegression.fit(data, settings: settings, arena: arena)
            #expect(try model.accuracy(on: data, arena: arena) >= 0.95)
            #expect(model.epochLosses.last! < model.epochLosses.first!)
            var out: [Float] = [0, 0]
            model.predict([3, 0], into: &out)
            #expect(out[1] > 0.9 && abs(out[0] + out[1] - 1) < 1e-6)
        }
        // Same seed, same weights.
        let a = try LogisticRegression.fit(data, arena: arena), b = try LogisticRegression.fit(data, arena: arena)
        #expect(a.weight == b.weight && a.bias == b.bias)
    }

    @Test func divergenceIsReportedNotHidden() throws {
        let arena = try ArenaAllocator(capacity: 1 << 20)
        let data = try set([[1e30, 1], [-1e30, 1]], [0, 1], arena: arena)
        var s = SoftmaxRegression.defaultSettings(samples: 2)
        s.learningRate = 1e10
        #expect(throws: LinearModelTrainer.DivergedError.self) { try SoftmaxRegression.fit(data, settings: s, arena: arena) }
    }
}

extension TrainedModel {
    func predict(_ x: [Float], into out: inout [Float]) {
        x.withUnsafeBufferPointer { xp in out.withUnsafeMutableBufferPointer { predict(xp.baseAddress!, into: $0.baseAddress!) } }
    }
}
