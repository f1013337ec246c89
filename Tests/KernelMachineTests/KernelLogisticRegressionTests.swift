import Testing
import Foundation
import Arena
import Classic
import Infer
import Training
import ModelFile
import KernelMachines
import LowLevel

@Suite struct KernelLogisticRegressionTests {
    init() { BLAS.configure(threads: 1) }

    /// Class 1 inside the unit disc, class 0 on a ring of radius 2 to 3: no line separates them.
    func rings(_ count: Int, seed: UInt64, arena: ArenaAllocator) throws -> SampleSet {
        var rng = TestRandom(seed: seed)
        var values: [Float] = [], labels: [Int32] = []
        for i in 0..<count {
            let inner = i % 2 == 0
            let r = inner ? rng.uniform() : 2 + rng.uniform(), t = 2 * Float.pi * rng.uniform()
            values += [r * cos(t), r * sin(t)]
            labels.append(inner ? 1 : 0)
        }
        return try SampleSet(values: values, rows: count, columns: 2, labels: labels, classCount: 2, arena: arena)
    }

    @Test func separatesRings() throws {
        let arena = try ArenaAllocator(capacity: 1 << 22)
        let train = try rings(80, seed: 1, arena: arena), test = try rings(200, seed: 2, arena: arena)
        let model = try KernelLogisticRegression.fit(train, kernel: .gaussian(sigma: 1), lambda: 1e-3, arena: arena)
        let linear = try KernelLogisticRegression.fit(train, kernel: .linear, lambda: 1e-3, arena: arena)
        #expect(model.outputKind == .probabilities && model.outputCount == 2)
        #expect(try model.accuracy(on: train, arena: arena) == 1)
        #expect(try model.accuracy(on: test, arena: arena) >= 0.97)
        #expect(try linear.accuracy(on: test, arena: arena) <= 0.75)
        #expect(model.loss < 0.5 * log(2.0)) // well below the loss of f = 0
        let centre = outputs(model, [0, 0]), far = outputs(model, [0, 2.5])
        #expect(centre[1] > 0.8 && far[1] < 0.2, "\(centre) \(far)")
        for r in 0..<test.count {
            let x = row(test.features, r), p = outputs(model, x)
            #expect(p[0] > 0 && p[0] < 1 && p[1] > 0 && p[1] < 1)
            #expect(abs(p[0] + p[1] - 1) < 1e-6)
            // The exported stages through softmax give the same probabilities.
            let reference = evaluate(model.stages, input: x, softmax: true)
            #expect(abs(reference[1] - p[1]) < 1e-5)
            // σ(f) with f the decision value.
            #expect(abs(1 / (1 + exp(-model.decisionValue(x))) - p[1]) < 1e-5)
        }
    }

    /// Gradient descent decreases J: more steps never give a larger loss, and the stationarity
    /// condition holds at convergence.
    @Test func lossDecreases() throws {
        let arena = try ArenaAllocator(capacity: 1 << 22)
        let train = try rings(40, seed: 3, arena: arena)
        var previous = Double.infinity
        for steps in [1, 10, 100, 1000] {
            let model = try KernelLogisticRegression.fit(train, kernel: .gaussian(sigma: 1), lambda: 0.01,
                                                         iterations: steps, tolerance: 0, arena: arena)
            #expect(model.loss < previous, "\(steps) steps")
            #expect(model.iterations == steps)
            previous = model.loss
        }
        // Converged means at the minimum: many more steps do not lower J any further.
        let converged = try KernelLogisticRegression.fit(train, kernel: .gaussian(sigma: 1), lambda: 0.1,
                                                         iterations: 20_000, tolerance: 1e-5, arena: arena)
        let longer = try KernelLogisticRegression.fit(train, kernel: .gaussian(sigma: 1), lambda: 0.1,
                                                      iterations: 2 * converged.iterations + 100, tolerance: 0, arena: arena)
        #expect(converged.converged && converged.iterations < 20_000)
        #expect(converged.loss - longer.loss < 1e-6, "\(converged.loss) vs \(longer.loss)")
    }

    @Test func rejectsOtherSets() throws {
        let arena = try ArenaAllocator(capacity: 1 << 20)
        let three = try SampleSet(values: [0, 1, 2], rows: 3, columns: 1, labels: [0, 1, 2], classCount: 3, arena: arena)
        #expect(throws: KernelMachineError.self) { try KernelLogisticRegression.fit(three, arena: arena) }
        let two = try SampleSet(values: [0, 1], rows: 2, columns: 1, labels: [0, 1], classCount: 2, arena: arena)
        #expect(throws: KernelMachineError.self) { try KernelLogisticRegression.fit(two, lambda: 0, arena: arena) }
    }

    /// Held-out rows stop the gradient steps `patience` steps after their loss last fell, and
    /// the model is the best step's: its validation loss is the lowest recorded.
    @Test func stopsWhereTheValidationLossTurnedUp() throws {
        let arena = try ArenaAllocator(capacity: 64 << 20)
        var rng = RandomGenerator(seed: 21)
        // Two overlapping blobs with label noise: a small λ overfits them as steps go on.
        var values: [Float] = [], labels: [Int32] = []
        for i in 0..<160 {
            let c = Int32(i % 2)
            values += [rng.nextGaussian() + (c == 1 ? 0.7 : -0.7), rng.nextGaussian()]
            labels.append(rng.nextUniform() < 0.15 ? 1 - c : c)
        }
        let all = try SampleSet(values: values, rows: 160, columns: 2, labels: labels, classCount: 2, arena: arena)
        let (kept, held) = CrossValidation.holdOut(all, fraction: 0.3, seed: 2)
        let train = try all.subset(kept, arena: arena), validation = try all.subset(held, arena: arena)
        let model = try KernelLogisticRegression.fit(train, kernel: .gaussian(sigma: 0.05), lambda: 1e-6, iterations: 5000,
                                                     validation: validation, patience: 5, arena: arena)
        let report = try #require(model.validationReport)
        #expect(report.stoppedEarly && report.losses.count == report.bestEpoch + 5, "\(report.losses.count) steps, best \(report.bestEpoch)")
        #expect(report.losses[report.bestEpoch - 1] == report.losses.min())
        var loss = 0.0
        var out = [Float](repeating: 0, count: 2)
        for i in 0..<validation.count {
            model.predict(validation.features.row(i), into: &out)
            loss -= Foundation.log(Double(out[Int(validation.labels[i])]))
        }
        #expect(abs(loss / Double(validation.count) - report.losses[report.bestEpoch - 1]) < 1e-4)
    }
}
