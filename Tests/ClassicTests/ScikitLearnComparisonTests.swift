import Foundation
import Testing
import Arena
import Classic
import Infer
import Training
import ModelFile
import KernelMachines
import LowLevel

/// The documented comparison with scikit-learn (docs/CLASSIC.md): the same fixed split, the same
/// standardisation, equivalent settings; each of our classifiers' test accuracy is within one
/// percentage point of scikit-learn's or better, and the regressions' coefficients match.
/// Reference figures: Tests/Fixtures/small/sklearn_reference.json, written by
/// Tests/Fixtures/make_sklearn_reference.py.
@Suite struct ScikitLearnComparisonTests {
    init() { BLAS.configure(threads: 1) }

    nonisolated(unsafe) static let reference: [String: Any] = {
        let url = packageRoot.appendingPathComponent("Tests/Fixtures/small/sklearn_reference.json")
        return (try? JSONSerialization.jsonObject(with: Data(contentsOf: url))) as? [String: Any] ?? [:]
    }()

    static func entry(_ dataset: String, _ model: String) -> [String: Any] {
        ((reference[dataset] as? [String: Any])?[model] as? [String: Any]) ?? [:]
    }

    /// scikit-learn's accuracy; for k-NN, on the float32 standardised features our code sees (exact
    /// distance ties, common in iris, fall differently in float32 and float64).
    static func accuracy(_ dataset: String, _ model: String) -> Double {
        let e = entry(dataset, model)
        return e["accuracy_float32"] as? Double ?? e["accuracy"] as? Double ?? .nan
    }

    /// Ours within 1 point of scikit-learn's, or better (a small epsilon for float rounding).
    func expectComparable(_ ours: Double, _ dataset: String, _ model: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let theirs = Self.accuracy(dataset, model)
        #expect(!theirs.isNaN, "no reference for \(dataset)/\(model)", sourceLocation: sourceLocation)
        #expect(ours >= theirs - 0.01 - 1e-9, "\(dataset) \(model): ours \(ours), scikit-learn \(theirs)", sourceLocation: sourceLocation)
    }

    @Test(arguments: ["iris", "wine", "breast_cancer"])
    func classifiers(_ name: String) throws {
        let arena = try ArenaAllocator(capacity: 64 << 20)
        let data = try SmallSplit(name, arena: arena)
        func accuracy(_ model: some TrainedModel) throws -> Double { try model.accuracy(on: data.test, arena: arena) }
        // Perceptron: one-vs-all, samples in order, last weights, up to 1,000 passes with no early
        // stop (scikit-learn's shuffle=False, tol=None); and our defaults, which must not do worse.
        var course = Perceptron.Settings()
        course.stopRule = .none
        course.averaged = false
        expectComparable(try accuracy(Perceptron.fit(data.train, settings: course, arena: arena)), name, "perceptron")
        expectComparable(try accuracy(Perceptron.fit(data.train, arena: arena)), name, "perceptron")
        // Softmax regression, C = 1 (λ = 1/n); scikit-learn's "softmax" entry is its multinomial
        // logistic regression (for two classes, logistic regression with C = 2, the same decisions).
        expectComparable(try accuracy(SoftmaxRegression.fit(data.train, arena: arena)), name, "softmax")
        // Binary logistic regression, C = 1.
        if data.train.classCount == 2 {
            expectComparable(try accuracy(LogisticRegression.fit(data.train, arena: arena)), name, "logistic")
        }
        // Linear SVM, primal, hinge loss, C = 1, one-vs-all (LinearSVC with loss="hinge").
        expectComparable(try accuracy(LinearSVM.fit(data.train, arena: arena)), name, "linear_svm")
        // k-NN.
        expectComparable(try accuracy(NearestNeighbours.fit(data.train, k: 3, arena: arena)), name, "knn3_l2")
        for (metric, key) in [(DistanceMetric.l2, "knn5_l2"), (.l1, "knn5_l1"), (.linf, "knn5_linf"), (.cosine, "knn5_cosine")] {
            expectComparable(try accuracy(NearestNeighbours.fit(data.train, k: 5, distance: .metric(metric), arena: arena)), name, key)
        }
        expectComparable(try accuracy(NearestNeighbours.fit(data.train, k: 5, distance: .mahalanobis(matrix: nil), arena: arena)),
                         name, "knn5_mahalanobis")
        // Kernel SVMs by SMO, C = 1, one-vs-one (SVC). RBF: σ = d·Var(X) (gamma = "scale");
        // polynomial (⟨x, z⟩ + 1)³ (gamma = 1, coef0 = 1); Laplace with σ = √d.
        let d = Float(data.train.featureCount)
        let kernels: [(KernelSpec, String)] = [(.linear, "svm_linear"), (.gaussian(sigma: nil), "svm_rbf"),
                                               (.polynomial(degree: 3), "svm_poly"), (.laplace(sigma: d.squareRoot()), "svm_laplace")]
        for (kernel, key) in kernels {
            expectComparable(try accuracy(KernelSVM.fit(data.train, kernel: kernel, C: 1, arena: arena)), name, key)
        }
    }

    /// Least squares, ridge (α = 1, i.e. λ = 1/n) and lasso (α = 0.1, the same objective) on diabetes:
    /// coefficients equal scikit-learn's (lasso to its stopping tolerance).
    @Test func regressionCoefficients() throws {
        let arena = try ArenaAllocator(capacity: 16 << 20)
        let data = try SmallSplit("diabetes", arena: arena)
        let (x, y) = data.train.doubles()
        let d = data.train.featureCount
        var ridge = LinearRegression.Settings()
        ridge.lambda = 1 / Double(data.train.count)
        let fits: [(String, any LinearRegressor, Double)] = [
            ("linear", try LinearRegression.fit(x: x, y: y, columns: d), 1e-3),
            ("ridge", try LinearRegression.fit(x: x, y: y, columns: d, settings: ridge), 1e-3),
        ]
        for (name, model, tolerance) in fits {
            let entry = Self.entry("diabetes", name)
            let coef = try #require(entry["coef"] as? [Double]), intercept = try #require(entry["intercept"] as? Double)
            for c in 0..<d { #expect(abs(model.weights[c] - coef[c]) < tolerance, "\(name) weight \(c)") }
            #expect(abs(model.intercept - intercept) < tolerance, "\(name) intercept")
            // Standardised with float features here, so the test MSE agrees to a fraction of a percent.
            let mse = try model.meanSquaredError(on: data.test, arena: arena)
            #expect(abs(mse - (entry["mse"] as? Double ?? .nan)) < 0.005 * mse, "\(name) test MSE")
        }
        // Lasso (α = 0.1, the same objective): scikit-learn stops at its default tolerance, so
        // rather than equal coefficients, ours must reach an objective no worse than its.
        let lasso = try Lasso.fit(x: x, y: y, columns: d)
        let entry = Self.entry("diabetes", "lasso")
        let coef = try #require(entry["coef"] as? [Double]), intercept = try #require(entry["intercept"] as? Double)
        func objective(_ w: [Double], _ b: Double) -> Double {
            var loss = 0.0
            for r in 0..<y.count {
                var p = b
                for c in 0..<d { p += w[c] * x[r * d + c] }
                loss += (y[r] - p) * (y[r] - p)
            }
            return loss / (2 * Double(y.count)) + 0.1 * w.reduce(0) { $0 + abs($1) }
        }
        let ours = objective(lasso.weights, lasso.intercept), theirs = objective(coef, intercept)
        #expect(ours <= theirs * (1 + 1e-9))
        #expect(ours >= theirs * (1 - 1e-4), "scikit-learn stopped close to the optimum too")
        for c in 0..<d { #expect((lasso.weights[c] == 0) == (abs(coef[c]) < 1e-12), "same zero pattern, weight \(c)") }
    }
}

