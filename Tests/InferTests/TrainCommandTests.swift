import Testing
import Foundation
import ToolRunner

/// Runs the built `train` (TRAIN_BINARY overrides the path), with MNIST_DIR unset unless given.
private func train(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
    var env: [String: String?] = ["MNIST_DIR": nil]
    for (key, value) in environment { env[key] = value }
    return try ToolRunner.run("train", packageRoot: packageRoot, binaryVariable: "TRAIN_BINARY", arguments: arguments, environment: env)
}

@Suite(.serialized) struct TrainCommandTests {
    @Test func bundledSampleWhenNoDataIsGivenWithJSONResults() throws {
        let r = try train(["--epochs", "2", "--hidden", "32", "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("bundled sample"))
        #expect(r.stderr.contains("epoch 2/2"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        for key in ["test_accuracy", "train_seconds", "samples_per_second", "epochs", "seed"] {
            #expect(object[key] != nil, "missing \(key)")
        }
        #expect(object["epochs"] as? Int == 2 && object["seed"] as? Int == 42)
        let accuracy = try #require(object["test_accuracy"] as? Double)
        #expect(accuracy > 0.5 && accuracy <= 1)
    }

    @Test func badArgumentsGetAClearMessageAndNonZeroExit() throws {
        let cases: [([String], String)] = [
            (["--epochs", "-1"], "--epochs"),
            (["--optimizer", "rmsprop"], "sgd, momentum, adam"),
            (["--lr", "0"], "--lr"),
            (["--batch", "0"], "--batch"),
            (["--hidden", "12,x"], "--hidden"),
            (["--schedule", "wobble"], "--schedule"),
            (["--model", "resnet"], "mlp"),
            (["--threads", "0"], "--threads"),
            (["--frobnicate"], "frobnicate"),
        ]
        for (arguments, expected) in cases {
            // --epochs 1 keeps a case that wrongly succeeded short; the --epochs case sets its own.
            let r = try train(arguments.first == "--epochs" ? arguments : arguments + ["--epochs", "1"])
            #expect(r.status != 0, "\(arguments) should fail")
            #expect(r.stderr.contains(expected), "\(arguments): \(r.stderr)")
        }
    }

    @Test func missingDataSaysWhereItLookedAndWhatToPass() throws {
        let r = try train(["--data", "/nonexistent-mnist"])
        #expect(r.status != 0)
        #expect(r.stderr.contains("/nonexistent-mnist/train-images-idx3-ubyte.gz"))
        #expect(r.stderr.contains("--data") && r.stderr.contains("MNIST_DIR"))
        let e = try train([], environment: ["MNIST_DIR": "/also-missing"])
        #expect(e.status != 0 && e.stderr.contains("/also-missing"))
    }

    /// `--checkpoint` after epoch 1, then `--resume`, ends with a checkpoint byte-identical to an
    /// uninterrupted two-epoch run's.
    @Test func resumeThroughTheCommandMatchesAnUninterruptedRun() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let common = ["--hidden", "16", "--optimizer", "adam", "--lr", "0.002", "--seed", "9", "--quiet"]
        #expect(try train(common + ["--epochs", "2", "--checkpoint", dir + "/straight"]).status == 0)
        #expect(try train(common + ["--epochs", "1", "--checkpoint", dir + "/half"]).status == 0)
        let resumed = try train(["--resume", dir + "/half", "--epochs", "2", "--checkpoint", dir + "/resumed"])
        #expect(resumed.status == 0, "\(resumed.stderr)")
        let a = try Data(contentsOf: URL(fileURLWithPath: dir + "/straight"))
        let b = try Data(contentsOf: URL(fileURLWithPath: dir + "/resumed"))
        #expect(a == b)
        let conflict = try train(["--resume", dir + "/half", "--lr", "0.1"])
        #expect(conflict.status != 0 && conflict.stderr.contains("cannot be changed when resuming"))
        try Data("garbage".utf8).write(to: URL(fileURLWithPath: dir + "/bad"))
        let bad = try train(["--resume", dir + "/bad"])
        #expect(bad.status != 0 && bad.stderr.contains("bad"))
        // No temporary files left behind.
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["bad", "half", "resumed", "straight"])
    }
}
