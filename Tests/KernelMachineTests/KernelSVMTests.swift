import Testing
import Arena
import Classic
import Infer
import Training
import ModelFile
import KernelMachines
import LowLevel

@Suite struct KernelSVMTests {
    init() { BLAS.configure(threads: 1) }

    /// XOR: four jittered clusters at (±1, ±1), the class is the sign of x₁x₂.
    func xor(arena: ArenaAllocator) throws -> SampleSet {
        var rng = TestRandom(seed: 5)
        var values: [Float] = [], labels: [Int32] = []
        for _ in 0..<10 {
            for (a, b) in [(1, 1), (-1, -1), (1, -1), (-1, 1)] as [(Float, Float)] {
                values += [a + 0.2 * rng.normal(), b + 0.2 * rng.normal()]
                labels.append(a * b > 0 ? 0 : 1)
            }
        }
        return try SampleSet(values: values, rows: labels.count, columns: 2, labels: labels, classCount: 2, arena: arena)
    }

    @Test func xorNeedsANonlinearKernel() throws {
        let arena = try ArenaAllocator(capacity: 1 << 22)
        let set = try xor(arena: arena)
        let rbf = try KernelSVM.fit(set, kernel: .gaussian(sigma: 1), C: 10, arena: arena)
        let poly = try KernelSVM.fit(set, kernel: .polynomial(degree: 2), C: 10, arena: arena)
        let laplace = try KernelSVM.fit(set, kernel: .laplace(sigma: 1), C: 10, arena: arena)
        let linear = try KernelSVM.fit(set, kernel: .linear, C: 10, arena: arena)
        #expect(try rbf.accuracy(on: set, arena: arena) == 1)
        #expect(try poly.accuracy(on: set, arena: arena) == 1)
        #expect(try laplace.accuracy(on: set, arena: arena) == 1)
        // No line gets more than three of the four clusters right.
        #expect(try linear.accuracy(on: set, arena: arena) <= 0.8)
        #expect(rbf.report.converged && poly.report.converged)
        // Unseen points at the cluster centres.
        for (p, c) in [([0.9, 1.1], 0), ([-1.0, -0.8], 0), ([1.0, -1.0], 1), ([-1.1, 0.9], 1)] as [([Float], Int)] {
            let s = outputs(rbf, p)
            #expect(s[c] > s[1 - c], "\(p)")
        }
    }

    /// Only support vectors are exported, and each is one (α > 0 in some pair).
    @Test func keepsOnlySupportVectors() throws {
        let arena = try ArenaAllocator(capacity: 1 << 22)
        let set = try blobs(centres: [[0, 0], [5, 0]], perClass: 40, spread: 0.7, seed: 2, arena: arena)
        let model = try KernelSVM.fit(set, kernel: .gaussian(sigma: 8), C: 1, arena: arena)
        let m = model.supportVectors.rows
        #expect(m == model.report.supportVectors && m < set.count / 2 && m >= 2, "\(m) support vectors")
        var sum: Float = 0
        for s in 0..<m {
            #expect(model.coefficients[s, 0] != 0)
            sum += model.coefficients[s, 0]
            #expect(row(model.supportVectors, s) == row(set.features, Int(model.supportVectorIndices[s])))
            // Sign of the coefficient is the label's: class 0 is the positive side.
            #expect((model.coefficients[s, 0] > 0) == (set.labels[Int(model.supportVectorIndices[s])] == 0))
        }
        #expect(abs(sum) < 1e-4) // Σ αᵢyᵢ = 0
        #expect(try model.accuracy(on: set, arena: arena) >= 0.97)
    }

    /// Three classes, one-vs-one: accuracy, the shared support-vector layout, and the exported
    /// stages (run by the test's own evaluator) agreeing with `predict` and batch `predict`.
    @Test func multiclassOneVsOne() throws {
        let arena = try ArenaAllocator(capacity: 1 << 23)
        let centres: [[Float]] = [[0, 0], [4, 0], [0, 4]]
        let train = try blobs(centres: centres, perClass: 30, spread: 1, seed: 8, arena: arena)
        let test = try blobs(centres: centres, perClass: 50, spread: 1, seed: 9, arena: arena)
        let model = try KernelSVM.fit(train, arena: arena) // Gaussian with the scale heuristic, C = 1
        #expect(model.pairCount == 3 && model.outputCount == 3 && model.outputKind == .scores)
        #expect(model.report.pairs.map { [$0.positiveClass, $0.negativeClass] } == [[0, 1], [0, 2], [1, 2]])
        #expect(try model.accuracy(on: train, arena: arena) >= 0.95)
        #expect(try model.accuracy(on: test, arena: arena) >= 0.93)
        // Each pair's column only uses its own two classes' samples, and balances (Σ αᵢyᵢ = 0).
        for (p, (a, b)) in ClassPairs.all(classes: 3).enumerated() {
            var balance: Float = 0
            for s in 0..<model.supportVectors.rows where model.coefficients[s, p] != 0 {
                let label = Int(train.labels[Int(model.supportVectorIndices[s])])
                #expect(label == a || label == b)
                balance += model.coefficients[s, p]
            }
            #expect(abs(balance) < 1e-4)
        }
        let stages = model.stages
        guard case .kernel(_, _, let count, 2) = stages[0], case .dense(_, _, count, 3) = stages[1],
              case .pairwiseVote(3) = stages[2] else {
            Issue.record("unexpected stages \(stages)"); return
        }
        #expect(count == model.supportVectors.rows)
        let batch = Matrix(try arena.allocateFloats(test.count * 3), rows: test.count, columns: 3)
        try model.predict(test.features, into: batch, arena: arena)
        for r in 0..<test.count {
            let x = row(test.features, r)
            let reference = evaluate(stages, input: x), swift = outputs(model, x)
            for c in 0..<3 {
                #expect(abs(reference[c] - swift[c]) < 1e-4, "sample \(r) class \(c)")
                #expect(abs(batch[r, c] - swift[c]) < 1e-5)
            }
        }
    }

    @Test func rejectsBadParameters() throws {
        let arena = try ArenaAllocator(capacity: 1 << 20)
        let set = try xor(arena: arena)
        #expect(throws: KernelMachineError.self) { try KernelSVM.fit(set, C: 0, arena: arena) }
        #expect(throws: KernelMachineError.self) { try KernelSVM.fit(set, kernel: .polynomial(degree: 0), arena: arena) }
        #expect(throws: KernelMachineError.self) { try KernelSVM.fit(set, cacheBytes: 100, arena: arena) }
    }
}
