import Testing
import Foundation
import Arena
import Classic
import Infer
import Training
import ModelFile
import KernelMachines
import LowLevel

/// The course's worked examples on the classic models, checked with the notes' own identities
/// (issue 15).
@Suite struct CourseClassicExampleTests {
    /// The explicit degree-2 feature map for d = 3, with its √2 factors (10 features).
    func phi(_ x: [Double]) -> [Double] {
        let r = 2.0.squareRoot()
        return [1, r * x[0], r * x[1], r * x[2], x[0] * x[0], x[1] * x[1], x[2] * x[2],
                r * x[0] * x[1], r * x[0] * x[2], r * x[1] * x[2]]
    }

    /// ⟨φ(x), φ(z)⟩ = (⟨x, z⟩ + 1)², the project's polynomial kernel of degree 2; and a poly-2
    /// kernel SVM's decision function equals the explicit quadratic classifier ⟨w, φ(x)⟩ + b with
    /// w = Σ αᵢyᵢφ(xᵢ) over its support vectors.
    @Test func degreeTwoFeatureMapAndTheKernelMachine() throws {
        var rng = RandomGenerator(seed: 31)
        let kernel = KernelFunction.polynomial(degree: 2)
        for _ in 0..<50 {
            let x = (0..<3).map { _ in Double(rng.nextGaussian()) }, z = (0..<3).map { _ in Double(rng.nextGaussian()) }
            let explicit = zip(phi(x), phi(z)).reduce(0) { $0 + $1.0 * $1.1 }
            let dot = zip(x, z).reduce(0) { $0 + $1.0 * $1.1 }
            #expect(abs(explicit - (dot + 1) * (dot + 1)) < 1e-9 * max(1, explicit))
            let xf = x.map(Float.init), zf = z.map(Float.init)
            #expect(abs(Double(kernel(xf, zf, count: 3)) - explicit) < 1e-4 * max(1, explicit))
        }
        // Two classes separated by a sphere: quadratic, not linear.
        let arena = try ArenaAllocator(capacity: 32 << 20)
        var values: [Float] = [], labels: [Int32] = []
        for _ in 0..<120 {
            let p = (0..<3).map { _ in rng.nextGaussian() }
            values += p
            labels.append(p.reduce(0) { $0 + $1 * $1 } < 2.4 ? 1 : 0)
        }
        let set = try SampleSet(values: values, rows: 120, columns: 3, labels: labels, classCount: 2, arena: arena)
        let svm = try KernelSVM.fit(set, kernel: .polynomial(degree: 2), C: 10, arena: arena)
        let expansion = svm.expansion
        var w = [Double](repeating: 0, count: 10)
        for i in 0..<expansion.points.rows {
            let features = phi((0..<3).map { Double(expansion.points[i, $0]) })
            for j in 0..<10 { w[j] += Double(expansion.coefficients[i, 0]) * features[j] }
        }
        var decision: Float = 0
        for _ in 0..<40 {
            let x = (0..<3).map { _ in rng.nextGaussian() }
            x.withUnsafeBufferPointer { expansion.evaluate($0.baseAddress!, into: &decision) }
            let explicit = zip(w, phi(x.map(Double.init))).reduce(0) { $0 + $1.0 * $1.1 } + Double(expansion.bias[0])
            #expect(abs(Double(decision) - explicit) < 1e-3 * max(1, abs(explicit)), "\(decision) vs \(explicit)")
        }
        #expect(try svm.accuracy(on: set, arena: arena) > 0.95)
    }

    /// Ridge regression (XᵀX + nλI)w = Xᵀy is ordinary least squares on X with √(nλ)·I appended
    /// as rows and zeros appended to y.
    @Test func ridgeIsLeastSquaresOnAugmentedData() throws {
        var rng = RandomGenerator(seed: 32)
        let n = 40, d = 5, lambda = 0.3
        let x = (0..<(n * d)).map { _ in Double(rng.nextGaussian()) }
        let y = (0..<n).map { i in (0..<d).reduce(0.0) { $0 + Double($1 + 1) * x[i * d + $1] } + Double(rng.nextGaussian()) }
        var ridge = LinearRegression.Settings()
        ridge.lambda = lambda; ridge.fitIntercept = false
        let r = try LinearRegression.fit(x: x, y: y, columns: d, settings: ridge)
        let root = (Double(n) * lambda).squareRoot()
        var augmented = x, targets = y
        for j in 0..<d { augmented += (0..<d).map { $0 == j ? root : 0 }; targets.append(0) }
        var ols = LinearRegression.Settings()
        ols.fitIntercept = false
        let o = try LinearRegression.fit(x: augmented, y: targets, columns: d, settings: ols)
        for j in 0..<d { #expect(abs(r.weights[j] - o.weights[j]) < 1e-9 * max(1, abs(r.weights[j])), "w[\(j)]") }
    }

    /// Mercer: the Gram matrices of the four kernels on random data are symmetric positive
    /// semidefinite (smallest eigenvalue ≥ −1e-9 × the largest, by LAPACK's dsyevd).
    @Test(arguments: [KernelFunction.linear, .polynomial(degree: 3), .gaussian(sigma: 2), .laplace(sigma: 1.5)])
    func gramMatricesArePositiveSemidefinite(_ kernel: KernelFunction) throws {
        var rng = RandomGenerator(seed: 33)
        let n = 60, d = 4
        let points = (0..<(n * d)).map { _ in rng.nextGaussian() }
        // The kernel in Double from its definition (the project's float kernel agrees to float
        // precision; the eigenvalue bound needs double-precision entries).
        func exact(_ i: Int, _ j: Int) -> Double {
            var dot = 0.0, squared = 0.0
            for t in 0..<d {
                let a = Double(points[i * d + t]), b = Double(points[j * d + t])
                dot += a * b; squared += (a - b) * (a - b)
            }
            switch kernel {
            case .linear: return dot
            case .polynomial(let p): return Foundation.pow(dot + 1, Double(p))
            case .gaussian(let sigma): return Foundation.exp(-squared / Double(sigma))
            case .laplace(let sigma): return Foundation.exp(-squared.squareRoot() / Double(sigma))
            }
        }
        var gram = [Double](repeating: 0, count: n * n)
        points.withUnsafeBufferPointer { p in
            for i in 0..<n {
                for j in 0..<n {
                    gram[i * n + j] = exact(i, j)
                    let projects = Double(kernel(p.baseAddress! + i * d, p.baseAddress! + j * d, count: d))
                    #expect(abs(projects - gram[i * n + j]) <= 1e-4 * max(1, abs(gram[i * n + j])))
                }
            }
        }
        for i in 0..<n { for j in 0..<n { #expect(gram[i * n + j] == gram[j * n + i]) } }
        let eigenvalues = try #require(gram.withUnsafeMutableBufferPointer { LAPACK.symmetricEigenvalues($0.baseAddress!, n: n) })
        #expect(eigenvalues.first! >= -1e-9 * eigenvalues.last!, "\(kernel): smallest \(eigenvalues.first!), largest \(eigenvalues.last!)")
    }

    /// On unit vectors ‖x − z‖² = 2 − 2⟨x, z⟩ (the law of cosines), so ranking by cosine similarity
    /// and ranking by L2 distance agree, and so do the cosine and L2 k-NN.
    @Test func cosineAndL2RankingsAgreeOnUnitVectors() throws {
        var rng = RandomGenerator(seed: 34)
        let n = 200, d = 6
        var points = [Float]()
        for _ in 0..<n {
            let v = (0..<d).map { _ in rng.nextGaussian() }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            points += v.map { $0 / norm }
        }
        for q in 0..<10 {
            let query = Array(points[(q * d)..<((q + 1) * d)].map { $0 + 0.01 })
            let cosine = (0..<n).map { i in zip(query, points[(i * d)..<((i + 1) * d)]).reduce(0) { $0 + $1.0 * $1.1 } }
            let distance = (0..<n).map { i in zip(query, points[(i * d)..<((i + 1) * d)]).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) } }
            let byCosine = (0..<n).sorted { cosine[$0] > cosine[$1] }, byDistance = (0..<n).sorted { distance[$0] < distance[$1] }
            #expect(byCosine.prefix(15) == byDistance.prefix(15))
        }
        let arena = try ArenaAllocator(capacity: 8 << 20)
        let labels = (0..<n).map { Int32($0 % 3) }
        let set = try SampleSet(values: points, rows: n, columns: d, labels: labels, classCount: 3, arena: arena)
        let byL2 = try NearestNeighbours.fit(set, k: 5, distance: .metric(.l2), arena: arena)
        let byCos = try NearestNeighbours.fit(set, k: 5, distance: .metric(.cosine), arena: arena)
        var a = [Float](repeating: 0, count: 3), b = a
        for i in 0..<n {
            byL2.predict(set.features.row(i), into: &a); byCos.predict(set.features.row(i), into: &b)
            #expect(Kernels.argmax(a, count: 3) == Kernels.argmax(b, count: 3))
        }
    }
}

/// "The perceptron is SGD on the perceptron loss" (issue 15): the linear-model trainer with
/// `.perceptron`, step 1, batch 1, samples in order, no regularisation or averaging, ends with
/// exactly the weights of `Perceptron.fitBinary` after the same passes. Integer features keep every
/// sum exact, so both see the same margins.
@Suite struct PerceptronAsSGDTests {
    @Test(arguments: [1, 3, 10]) func perceptronIsSGDOnThePerceptronLoss(passes: Int) throws {
        let arena = try ArenaAllocator(capacity: 4 << 20)
        var rng = RandomGenerator(seed: 35)
        let n = 80, d = 6
        let values = (0..<(n * d)).map { _ in Float(rng.nextIndex(below: 9)) - 4 }
        let labels = (0..<n).map { i in Int32(values[(i * d)..<((i + 1) * d)].reduce(0, +) + Float(rng.nextIndex(below: 5)) - 2 > 0 ? 1 : 0) }
        let set = try SampleSet(values: values, rows: n, columns: d, labels: labels, classCount: 2, arena: arena)
        let y = try set.signs(positive: 1, arena: arena)
        var settings = LinearModelTrainer.Settings()
        settings.epochs = passes; settings.batchSize = 1; settings.learningRate = 1; settings.decay = 0; settings.lambda = 0
        settings.averaging = false; settings.shuffle = false
        let sgd = try LinearModelTrainer.train(set.features, targets: .signs(y.baseAddress!), columns: 1, loss: .perceptron,
                                               settings: settings, arena: arena)
        var rule = Perceptron.Settings()
        rule.maxPasses = passes; rule.stopRule = .none; rule.averaged = false
        let w = try arena.allocateFloats(d)
        var b: Float = 0
        let report = Perceptron.fitBinary(set.features, y.baseAddress!, w: w.baseAddress!, b: &b, settings: rule)
        #expect(report.mistakes > 0)
        #expect(sgd.weight == Array(w) && sgd.bias == [b], "after \(passes) passes")
        // The loss SGD reports per epoch is the perceptron's summed margin violation over n.
        #expect(report.passes < passes || abs(sgd.epochLosses.last! - report.lastPassLoss / Double(n)) < 1e-9)
    }
}

/// PCA as the truncated SVD (issue 15): orthonormal components in decreasing variance, the
/// rank-K reconstruction error on the training rows equal to the dropped variance (Eckart–Young)
/// and below any other rank-K projection's, and the exported projection run through C.
@Suite struct PrincipalComponentsTests {
    @Test(arguments: [1, 3, 7]) func reconstructionErrorIsEckartYoungsMinimum(components k: Int) throws {
        let arena = try ArenaAllocator(capacity: 16 << 20)
        let data = try SmallSplit("wine", arena: arena)
        let pca = try PrincipalComponents.fit(data.train, components: k, arena: arena)
        let d = data.train.featureCount, n = Double(data.train.count)
        for a in 0..<k {
            for b in 0..<k {
                let dot = (0..<d).reduce(0.0) { $0 + Double(pca.components[$1 * k + a]) * Double(pca.components[$1 * k + b]) }
                #expect(abs(dot - (a == b ? 1 : 0)) < 1e-4, "⟨w\(a), w\(b)⟩ = \(dot)")
            }
        }
        #expect(zip(pca.variances, pca.variances.dropFirst()).allSatisfy { $0 >= $1 })
        let error = pca.reconstructionError(on: data.train)
        let dropped = pca.variances.dropFirst(k).reduce(0, +) * (n - 1) / n
        #expect(abs(error - dropped) < 1e-3 * max(1, dropped), "error \(error), dropped variance \(dropped)")
        // Any other orthonormal rank-k basis (Gram–Schmidt on random vectors) reconstructs worse.
        var rng = RandomGenerator(seed: 50)
        var basis: [[Double]] = []
        while basis.count < k {
            var v = (0..<d).map { _ in Double(rng.nextGaussian()) }
            for u in basis { let p = zip(u, v).reduce(0) { $0 + $1.0 * $1.1 }; v = zip(v, u).map { $0 - p * $1 } }
            let norm = v.reduce(0) { $0 + $1 * $1 }.squareRoot()
            basis.append(v.map { $0 / norm })
        }
        var other = 0.0
        for i in 0..<data.train.count {
            let centred = (0..<d).map { Double(data.train.features[i, $0] - pca.mean[$0]) }
            var back = [Double](repeating: 0, count: d)
            for u in basis { let p = zip(u, centred).reduce(0) { $0 + $1.0 * $1.1 }; back = zip(back, u).map { $0 + p * $1 } }
            other += zip(centred, back).reduce(0) { $0 + ($1.0 - $1.1) * ($1.0 - $1.1) }
        }
        #expect(other / n > error, "a random basis: \(other / n), PCA: \(error)")
        try checkThroughC(pca, prefix: [data.scaler.stage], raw: data.rawTest.features, on: data.test.features)
    }
}
