import Testing
import Foundation
import ToolRunner

private func tool(_ name: String, _ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
    try ToolRunner.run(name, packageRoot: packageRoot.path, binaryVariable: name == "train" ? "TRAIN_BINARY" : "EXPORT_TOOL_BINARY",
                       arguments: arguments, environment: ["MNIST_DIR": nil, "SMALL_DATA_DIR": nil])
}

private func json(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

/// `train --model <classic>` end to end: fit on a bundled small data set, JSON report, model file,
/// and the file's predictions through C (export-tool verify) equal to the reported test figures.
@Suite(.serialized) struct ClassicCommandTests {
    @Test(arguments: [
        (["--model", "perceptron", "--dataset", "iris", "--multiclass", "ovo"], "iris"),
        (["--model", "softmax", "--dataset", "wine"], "wine"),
        (["--model", "logistic", "--dataset", "breast_cancer", "--batch", "16", "--epochs", "20"], "breast_cancer"),
        (["--model", "svm", "--dataset", "iris", "--C", "10"], "iris"),
        (["--model", "knn", "--dataset", "wine", "--k", "3", "--distance", "mahalanobis"], "wine"),
        (["--model", "kernel-svm", "--dataset", "wine", "--kernel", "poly", "--degree", "2"], "wine"),
        (["--model", "kernel-logistic", "--dataset", "breast_cancer", "--kernel", "laplace"], "breast_cancer"),
        (["--model", "kernel-ridge", "--dataset", "diabetes", "--lambda", "0.01"], "diabetes"),
        (["--model", "ridge", "--dataset", "diabetes", "--lambda", "0.1"], "diabetes"),
        (["--model", "lasso", "--dataset", "diabetes"], "diabetes"),
        (["--model", "local-linear", "--dataset", "diabetes", "--sigma", "30"], "diabetes"),
    ])
    func fitReportExportAndVerify(_ arguments: [String], _ dataset: String) throws {
        let directory = NSTemporaryDirectory() + "classic-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/model.bin"
        let r = try tool("train", arguments + ["--json", "--output", file])
        try #require(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("bundled copy"))
        let report = try json(r.stdout)
        for key in ["fit_seconds", "predict_seconds", "train_samples", "test_samples", "file_bytes", "arena_bytes"] {
            #expect(report[key] != nil, "missing \(key)")
        }
        let verified = try tool("export-tool", ["verify", file, "--dataset", dataset, "--data", smallDataDirectory, "--json"])
        try #require(verified.status == 0, "\(verified.stderr)")
        let check = try json(verified.stdout)
        if let accuracy = report["test_accuracy"] as? Double {
            #expect(accuracy > 0.8)
            #expect(abs((check["accuracy"] as? Double ?? -1) - accuracy) < 1e-9, "C and Swift accuracy")
        } else {
            let mse = try #require(report["test_mse"] as? Double)
            #expect(abs((check["mse"] as? Double ?? -1) - mse) < 1e-3 * mse, "C and Swift MSE")
        }
    }

    /// The arena `train` reserves for a classic model is planned before the fit and its
    /// high-water mark reaches it exactly, for every model and the variants that change what is
    /// allocated (one-vs-one pairs, batch size, neighbour search by blocks or point by point,
    /// MNIST's path). The kernel SVM's plan is an upper bound (support vectors are not known
    /// before the fit), said as such.
    @Test(arguments: [
        ["--model", "perceptron", "--dataset", "iris"], ["--model", "perceptron", "--dataset", "wine", "--multiclass", "ovo"],
        ["--model", "perceptron", "--dataset", "breast_cancer"], ["--model", "softmax", "--dataset", "wine", "--batch", "0"],
        ["--model", "logistic", "--dataset", "breast_cancer", "--batch", "7"], ["--model", "logistic", "--dataset", "iris"],
        ["--model", "svm", "--dataset", "wine", "--multiclass", "ovo"], ["--model", "svm", "--dataset", "breast_cancer"],
        ["--model", "linear", "--dataset", "diabetes"], ["--model", "lasso", "--dataset", "diabetes"], ["--model", "tls", "--dataset", "diabetes"],
        ["--model", "kernel-ridge", "--dataset", "diabetes"], ["--model", "kernel-logistic", "--dataset", "breast_cancer"],
        ["--model", "knn", "--dataset", "iris"], ["--model", "knn", "--dataset", "diabetes", "--distance", "cosine"],
        ["--model", "knn", "--dataset", "wine", "--distance", "l1"], ["--model", "knn", "--dataset", "wine", "--distance", "mahalanobis"],
        ["--model", "kernel-smoothing", "--dataset", "diabetes"], ["--model", "local-linear", "--dataset", "diabetes"],
        ["--model", "softmax", "--train-limit", "300"], ["--model", "knn", "--k", "3"],
        ["--model", "kernel-svm", "--dataset", "wine"],
        ["--model", "logistic", "--dataset", "breast_cancer", "--validation-fraction", "0.2"],
        ["--model", "softmax", "--dataset", "wine", "--validation-fraction", "0.25", "--patience", "5"],
        ["--model", "svm", "--dataset", "iris", "--validation-fraction", "0.3", "--batch", "16"],
        ["--model", "knn", "--dataset", "iris", "--k", "1,3", "--cv", "3"],
        ["--model", "kernel-logistic", "--dataset", "breast_cancer", "--validation-fraction", "0.2"],
        ["--model", "pca", "--dataset", "wine", "--components", "4"], ["--model", "pca", "--components", "20"],
    ])
    func arenaIsPlannedExactly(_ arguments: [String]) throws {
        let r = try tool("train", arguments + ["--json"])
        try #require(r.status == 0, "\(r.stderr)")
        let report = try json(r.stdout)
        let planned = try #require(report["arena_bytes"] as? Int), peak = try #require(report["arena_peak_bytes"] as? Int)
        if arguments.contains("kernel-svm") {
            #expect(report["arena_plan_exact"] as? Bool == false)
            #expect(peak <= planned && peak > 0, "peak \(peak), planned \(planned)")
            #expect(r.stderr.contains("upper bound"), "\(r.stderr)")
        } else {
            #expect(report["arena_plan_exact"] as? Bool == true)
            #expect(peak == planned, "\(arguments): peak \(peak), planned \(planned)")
        }
    }

    /// The perceptron says why it stopped, in the progress output and in --json.
    @Test func perceptronReportsWhyItStopped() throws {
        let r = try tool("train", ["--model", "perceptron", "--dataset", "wine", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("stopped:"), "\(r.stderr)")
        let json = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let reasons = try #require(json["stop"] as? [String])
        #expect(reasons.count == 3 && reasons.allSatisfy { ["converged", "loss_stalled"].contains($0) }, "\(reasons)")
        #expect(json["stop_rule"] as? String == "loss")
    }

    @Test func badArgumentsGetAClearMessage() throws {
        let cases: [([String], String)] = [
            (["--model", "knn", "--dataset", "iris", "--k", "0"], "--k"),
            (["--model", "knn", "--dataset", "iris", "--distance", "hamming"], "l1, l2, linf, cosine, mahalanobis"),
            (["--model", "perceptron", "--dataset", "iris", "--multiclass", "all"], "ova, ovo"),
            (["--model", "svm", "--dataset", "iris", "--C", "-1"], "--C"),
            (["--model", "ridge", "--dataset", "iris"], "regression"),
            (["--model", "softmax", "--dataset", "diabetes"], "regression set"),
            (["--model", "softmax", "--dataset", "mnist-fashion"], "--dataset"),
            (["--model", "softmax", "--dataset", "iris", "--optimizer", "adam"], "--optimizer"),
            (["--model", "mlp", "--k", "3"], "classic models"),
            (["--model", "knn", "--dataset", "iris", "--data", "/nonexistent"], "cannot read"),
            (["--model", "kernel-svm", "--dataset", "iris", "--kernel", "sigmoid"], "linear, poly, rbf, laplace"),
            (["--model", "kernel-svm", "--dataset", "iris", "--kernel", "rbf", "--sigma", "-2"], "sigma"),
            (["--model", "kernel-logistic", "--dataset", "iris"], "two-class"),
            (["--model", "perceptron", "--dataset", "iris", "--stop", "never"], "loss, error, none"),
            (["--model", "perceptron", "--dataset", "iris", "--patience", "0"], "--patience"),
            (["--model", "softmax", "--dataset", "iris", "--patience", "3"], "for --model perceptron"),
            (["--model", "mlp", "--stop", "loss"], "classic models"),
        ]
        for (arguments, needle) in cases {
            let r = try tool("train", arguments)
            #expect(r.status != 0, "\(arguments)")
            #expect(r.stderr.contains(needle), "\(arguments): \(r.stderr)")
        }
    }
}
