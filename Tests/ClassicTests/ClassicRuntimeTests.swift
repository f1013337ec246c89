import Testing
import Arena
import Classic
import Infer
import Training
import ModelFile
import KernelMachines
import LowLevel

/// Every classic model exported with its standardisation and run through the C interface gives
/// the Swift model's outputs on raw test rows.
@Suite struct ClassicRuntimeTests {
    init() { BLAS.configure(threads: 1) }

    @Test(arguments: ["iris", "wine", "breast_cancer"])
    func classifiersThroughC(_ name: String) throws {
        let arena = try ArenaAllocator(capacity: 64 << 20)
        let data = try SmallSplit(name, arena: arena)
        var models: [any TrainedModel] = []
        for strategy in MulticlassStrategy.allCases {
            var s = Perceptron.Settings()
            s.multiclass = strategy
            models.append(try Perceptron.fit(data.train, settings: s, arena: arena))
            models.append(try LinearSVM.fit(data.train, multiclass: strategy, arena: arena))
        }
        models.append(try LogisticRegression.fit(data.train, arena: arena))
        models.append(try SoftmaxRegression.fit(data.train, arena: arena))
        for metric in DistanceMetric.allCases {
            models.append(try NearestNeighbours.fit(data.train, k: 5, distance: .metric(metric), arena: arena))
        }
        models.append(try NearestNeighbours.fit(data.train, k: 5, distance: .mahalanobis(matrix: nil), arena: arena))
        for kernel in [KernelSpec.linear, .polynomial(degree: 2), .gaussian(sigma: nil), .laplace(sigma: nil)] {
            models.append(try KernelSVM.fit(data.train, kernel: kernel, C: 1, arena: arena))
        }
        if data.train.classCount == 2 { models.append(try KernelLogisticRegression.fit(data.train, arena: arena)) }
        for model in models {
            try checkThroughC(model, prefix: [data.scaler.stage], raw: data.rawTest.features, on: data.test.features)
        }
    }

    @Test func regressorsThroughC() throws {
        let arena = try ArenaAllocator(capacity: 64 << 20)
        let data = try SmallSplit("diabetes", arena: arena)
        let (x, y) = data.train.doubles()
        let d = data.train.featureCount
        var ridge = LinearRegression.Settings()
        ridge.lambda = 0.01
        let models: [any TrainedModel] = [
            try LinearRegression.fit(x: x, y: y, columns: d),
            try LinearRegression.fit(x: x, y: y, columns: d, settings: ridge),
            try Lasso.fit(x: x, y: y, columns: d),
            try TotalLeastSquares.fit(x: x, y: y, columns: d),
            try NearestNeighbours.fit(data.train, k: 5, arena: arena),
            try NearestNeighbours.fit(data.train, k: 1, regression: .kernelSmoothing(.gaussian(sigma: 10)), arena: arena),
            try NearestNeighbours.fit(data.train, k: 1, regression: .kernelSmoothing(.laplace(sigma: 3)), arena: arena),
            try NearestNeighbours.fit(data.train, k: 1, regression: .localLinear(sigma: 20), arena: arena),
            try KernelRidge.fit(data.train, kernel: .gaussian(sigma: nil), lambda: 1e-2, arena: arena),
        ]
        for model in models {
            try checkThroughC(model, prefix: [data.scaler.stage], raw: data.rawTest.features, on: data.test.features, tolerance: 2e-4)
        }
    }
}
