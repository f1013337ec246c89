import Testing
import Foundation
import ToolRunner
import InferTools

/// Runs the built `train` (TRAIN_BINARY overrides the path), with MNIST_DIR unset unless given.
private func train(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
    var env: [String: String?] = ["MNIST_DIR": nil]
    for (key, value) in environment { env[key] = value }
    return try ToolRunner.run("train", packageRoot: packageRoot.path, binaryVariable: "TRAIN_BINARY", arguments: arguments, environment: env)
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

    /// `--model vit` on the bundled sample: per-epoch progress, the JSON, and its option errors.
    @Test func vitOnTheBundledSample() throws {
        let file = NSTemporaryDirectory() + "vit-\(UUID().uuidString).bin"
        defer { try? FileManager.default.removeItem(atPath: file) }
        let r = try train(["--model", "vit", "--epochs", "1", "--train-limit", "300", "--width", "16", "--layers", "1", "--heads", "2", "--json",
                           "--output", file])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("wrote \(file)") && FileManager.default.fileExists(atPath: file), "\(r.stderr)")
        #expect(r.stderr.contains("model: vit, 7×7 patches (16 per image)") && r.stderr.contains("epoch 1/1: train loss"), "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        for key in ["test_accuracy", "train_loss", "train_seconds", "history", "parameters"] { #expect(object[key] != nil, "missing \(key)") }
        #expect(object["model"] as? String == "vit" && object["epochs"] as? Int == 1)
        for (arguments, message) in [(["--patch", "5"], "must divide"), (["--heads", "3", "--width", "16"], "must divide --width"),
                                     (["--iters", "5"], "not an option of --model vit")] {
            let bad = try train(["--model", "vit", "--epochs", "1"] + arguments)
            #expect(bad.status != 0 && bad.stderr.contains(message), "\(arguments): \(bad.stderr)")
        }
    }

    /// `--model flow` on the bundled sample: the test bits per dimension, a checkpoint resumed for
    /// one more epoch ending with the file of a straight two-epoch run, `sample` drawing from it,
    /// and its option errors.
    @Test func flowOnTheBundledSampleResumesAndSamples() throws {
        let directory = NSTemporaryDirectory() + "flow-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let shape = ["--model", "flow", "--train-limit", "128", "--test-limit", "40", "--couplings", "2", "--filters", "8"]
        let r = try train(shape + ["--epochs", "1", "--json", "--output", directory + "/one.bin", "--checkpoint", directory + "/flow.ckpt"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("model: flow (RealNVP)") && r.stderr.contains("epoch 1/1: train") && r.stderr.contains("bits/dim over 40 digits"), "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        for key in ["test_bits_per_dim", "train_bits_per_dim", "train_seconds", "history"] { #expect(object[key] != nil, "missing \(key)") }
        let bits = try #require(object["test_bits_per_dim"] as? Double)
        #expect(bits > 0.5 && bits < 12, "\(bits) bits per dimension")
        let resumed = try train(shape + ["--resume", directory + "/flow.ckpt", "--epochs", "2", "--output", directory + "/resumed.bin"])
        #expect(resumed.status == 0 && resumed.stderr.contains("after epoch 1 of 2") && resumed.stderr.contains("epoch 2/2"), "\(resumed.stderr)")
        let straight = try train(shape + ["--epochs", "2", "--output", directory + "/two.bin"])
        #expect(straight.status == 0, "\(straight.stderr)")
        let two = FileManager.default.contents(atPath: directory + "/two.bin")
        #expect(two != nil && two == FileManager.default.contents(atPath: directory + "/resumed.bin"), "a resumed run writes the straight run's file")
        #expect(two != FileManager.default.contents(atPath: directory + "/one.bin"))
        for (arguments, message) in [(["--model", "flow", "--inner-kernel", "2"], "1 (1×1) or 3"), (["--model", "flow", "--objective", "js"], "not an option of --model flow"),
                                     (["--model", "mlp", "--couplings", "2"], "--couplings is for --model flow"),
                                     (shape + ["--resume", directory + "/flow.ckpt", "--filters", "4"], "--filters differs")] {
            let refused = try train(arguments)
            #expect(refused.status != 0 && refused.stderr.contains(message), "\(arguments): \(refused.stderr)")
        }
        let s = try ToolRunner.run("sample", packageRoot: packageRoot.path, binaryVariable: "SAMPLE_BINARY",
                                   arguments: ["--model", directory + "/two.bin", "--count", "4", "--grid", directory + "/grid.png"])
        #expect(s.status == 0 && FileManager.default.fileExists(atPath: directory + "/grid.png"), "\(s.stderr)")
    }

    /// `--model diffusion` on the bundled sample: the ε-loss per epoch and in the JSON, a model
    /// file `sample` draws from with the stored sampler, and a checkpoint that resumes to the
    /// same file.
    @Test func diffusionTrainsOnTheBundledSample() throws {
        let directory = NSTemporaryDirectory() + "diffusion-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let common = ["--model", "diffusion", "--train-limit", "128", "--filters", "4", "--diffusion-steps", "100"]
        let r = try train(common + ["--epochs", "2", "--json", "--sample-steps", "8", "--output", directory + "/d.bin",
                                    "--checkpoint", directory + "/d.ckpt"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("model: diffusion (DDPM, 100 steps, cosine schedule), U-Net of 4/8/16 channels") && r.stderr.contains("epoch 2/2: ε-loss"), "\(r.stderr)")
        #expect(r.stderr.contains("by the ODE sampler, 8 steps"), "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let loss = try #require(object["loss"] as? Double)
        #expect(loss > 0 && loss < 1.5 && object["train_seconds"] != nil && object["sample_steps"] as? Int == 8, "\(object)")
        let s = try ToolRunner.run("sample", packageRoot: packageRoot.path, binaryVariable: "SAMPLE_BINARY",
                                   arguments: ["--model", directory + "/d.bin", "--count", "3", "--grid", directory + "/grid.png"])
        #expect(s.status == 0, "\(s.stderr)")
        let grid = try Data(contentsOf: URL(fileURLWithPath: directory + "/grid.png"))
        #expect(grid.prefix(4) == Data([0x89, 0x50, 0x4E, 0x47]))
        // Resuming the finished run trains nothing and writes the same file; ancestral sampling may be chosen then.
        let resumed = try train(common + ["--resume", directory + "/d.ckpt", "--sample-steps", "8", "--output", directory + "/again.bin"])
        #expect(resumed.status == 0 && resumed.stderr.contains("after epoch 2 of 2"), "\(resumed.stderr)")
        #expect(FileManager.default.contents(atPath: directory + "/d.bin") == FileManager.default.contents(atPath: directory + "/again.bin"))
        let ancestral = try train(common + ["--resume", directory + "/d.ckpt", "--sampler", "ancestral", "--output", directory + "/a.bin"])
        #expect(ancestral.status == 0 && ancestral.stderr.contains("ancestral sampling, 100 steps"), "\(ancestral.stderr)")
        // The default 100 ODE steps are cut to a shorter diffusion; an explicit count must fit.
        let short = try train(["--model", "diffusion", "--train-limit", "128", "--filters", "4", "--diffusion-steps", "20", "--epochs", "0",
                               "--output", directory + "/short.bin"])
        #expect(short.status == 0 && short.stderr.contains("the ODE sampler, 20 steps"), "\(short.stderr)")
        let resumedSteps = try train(common + ["--resume", directory + "/d.ckpt", "--sample-steps", "200"])
        #expect(resumedSteps.status != 0 && resumedSteps.stderr.contains("more than the diffusion's 100 steps"), "\(resumedSteps.stderr)")
        for (arguments, message) in [(["--model", "diffusion", "--sampler", "euler"], "ode or ancestral"),
                                     (["--model", "diffusion", "--diffusion-steps", "50", "--sample-steps", "60"], "more than the diffusion's 50 steps"),
                                     (["--model", "diffusion", "--sampler", "ancestral", "--sample-steps", "60"], "for the ODE sampler"),
                                     (common + ["--resume", directory + "/d.ckpt", "--filters", "8"], "keeps its checkpoint's settings"),
                                     (["--model", "diffusion", "--schedule", "step:2"], "linear or cosine"),
                                     (["--model", "mlp", "--diffusion-steps", "10"], "--diffusion-steps is for --model diffusion"),
                                     (["--model", "mlp", "--sampler", "ode"], "--sampler is for --model diffusion"),
                                     (["--model", "gpt", "--filters", "4"], "--filters is for --model flow or diffusion")] {
            let refused = try train(arguments)
            #expect(refused.status != 0 && refused.stderr.contains(message), "\(arguments): \(refused.stderr)")
        }
    }

    /// `--model gan` on the bundled sample, then `sample` drawing a grid and single PNGs from its file.
    @Test func ganOnTheBundledSampleAndTheSampleCommand() throws {
        let directory = NSTemporaryDirectory() + "gan-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/gan.bin"
        let r = try train(["--model", "gan", "--epochs", "1", "--train-limit", "256", "--json", "--output", file, "--checkpoint", directory + "/gan.ckpt"])
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("model: gan (js), generator 64-256-512-1024-784") && r.stderr.contains("epoch 1/1: discriminator loss"), "\(r.stderr)")
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        for key in ["discriminator_loss", "generator_loss", "train_seconds", "history"] { #expect(object[key] != nil, "missing \(key)") }
        #expect(r.stderr.contains("batch norm in the generator") && r.stderr.contains("moving average (decay 0.999)") && !r.stderr.contains("decaying linearly"),
                "the defaults: \(r.stderr)")
        let bad = try train(["--model", "gan", "--objective", "hinge"])
        #expect(bad.status != 0 && bad.stderr.contains("js, js-minimax, kl, wasserstein, mmd"), "\(bad.stderr)")
        for (arguments, message) in [(["--model", "gan", "--hidden", "32,x"], "comma-separated widths"), (["--model", "gan", "--dropout", "1"], "in [0, 1)"),
                                     (["--model", "gan", "--ema", "1.5"], "in [0, 1)"), (["--model", "gan", "--schedule", "step:2"], "constant or linear"),
                                     (["--model", "mlp", "--latent", "8"], "--latent is for --model gan"),
                                     (["--model", "gan", "--resume", directory + "/gan.ckpt", "--ema", "0.9"], "keeps its checkpoint's settings")] {
            let refused = try train(arguments)
            #expect(refused.status != 0 && refused.stderr.contains(message), "\(arguments): \(refused.stderr)")
        }
        // The finished run's checkpoint resumes with nothing left and writes the same generator.
        let resumed = try train(["--model", "gan", "--train-limit", "256", "--resume", directory + "/gan.ckpt", "--output", directory + "/again.bin"])
        #expect(resumed.status == 0 && resumed.stderr.contains("after epoch 1 of 1"), "\(resumed.stderr)")
        #expect(FileManager.default.contents(atPath: file) == FileManager.default.contents(atPath: directory + "/again.bin"))
        let otherData = try train(["--model", "gan", "--train-limit", "128", "--resume", directory + "/gan.ckpt"])
        #expect(otherData.status != 0 && otherData.stderr.contains("trained on 256 digits"), "\(otherData.stderr)")
        func sample(_ arguments: [String]) throws -> (status: Int32, stdout: String, stderr: String) {
            try ToolRunner.run("sample", packageRoot: packageRoot.path, binaryVariable: "SAMPLE_BINARY", arguments: arguments)
        }
        let s = try sample(["--model", file, "--count", "5", "--seed", "7", "--grid", directory + "/grid.png", "--each", directory + "/each", "--json"])
        #expect(s.status == 0, "\(s.stderr)")
        let grid = try Data(contentsOf: URL(fileURLWithPath: directory + "/grid.png"))
        #expect(grid.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]))
        // 5 samples: 3 columns and 2 rows of 28-pixel tiles with 2-pixel gaps (IHDR width, height).
        #expect(grid[16..<24] == Data([0, 0, 0, 88, 0, 0, 0, 58]))
        let each = try FileManager.default.contentsOfDirectory(atPath: directory + "/each").sorted()
        #expect(each == (0..<5).map { String(format: "sample-%04d.png", $0) })
        let again = try sample(["--model", file, "--count", "5", "--seed", "7", "--each", directory + "/again"])
        #expect(again.status == 0)
        for name in each {
            #expect(FileManager.default.contents(atPath: directory + "/each/" + name) == FileManager.default.contents(atPath: directory + "/again/" + name),
                    "same seed, same image: \(name)")
        }
        try Data([1, 2, 3]).write(to: URL(fileURLWithPath: directory + "/junk.bin"))
        let junk = try sample(["--model", directory + "/junk.bin", "--grid", directory + "/x.png"])
        #expect(junk.status != 0 && junk.stderr.contains("shorter than the 132-byte minimum"), "\(junk.stderr)")
    }

    /// `--model gpt` on a small text: progress with both losses, and the JSON the issue lists.
    @Test func gptOnASmallText() throws {
        let path = NSTemporaryDirectory() + "gpt-\(UUID().uuidString).txt"
        let lines = ["the cat sat on the mat. ", "a dog ran to the cat. ", "to be or not to be. "]
        try (0..<150).map { lines[$0 % 3] }.joined().write(toFile: path, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: path) }
        let r = try train(["--model", "gpt", "--text", path, "--layers", "1", "--heads", "2", "--width", "16", "--context", "8",
                           "--batch", "4", "--iters", "30", "--lr", "0.01", "--eval-every", "10", "--eval-iters", "2",
                           "--tokens", "20", "--prompt", "the ", "--json", "--checkpoint", path + ".ckpt"])
        defer { try? FileManager.default.removeItem(atPath: path + ".ckpt") }
        #expect(r.status == 0, "\(r.stderr)")
        #expect(r.stderr.contains("iter 30/30: train loss") && r.stderr.contains("val loss") && r.stderr.contains("tokens/s"))
        let object = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        for key in ["val_loss", "train_loss", "iters", "ms_per_iter", "tokens_per_second"] { #expect(object[key] != nil, "missing \(key)") }
        let sample = try #require(object["sample"] as? String)
        #expect(sample.hasPrefix("the ") && sample.utf8.count == 24, "\(sample)")
        let loss = try #require(object["val_loss"] as? Double), vocabulary = try #require(object["vocabulary"] as? Int)
        #expect(loss > 0 && loss < log(Double(vocabulary)), "below the uniform loss: \(loss)")
        // The checkpoint of the finished run resumes with nothing left to train and the same losses.
        let resumed = try train(["--model", "gpt", "--text", path, "--resume", path + ".ckpt", "--eval-iters", "2", "--json"])
        #expect(resumed.status == 0 && resumed.stderr.contains("after iteration 30 of 30"), "\(resumed.stderr)")
        let again = try #require(try JSONSerialization.jsonObject(with: Data(resumed.stdout.utf8)) as? [String: Any])
        #expect(again["val_loss"] as? Double == loss && again["train_loss"] as? Double == object["train_loss"] as? Double)
        let changed = try train(["--model", "gpt", "--text", path, "--resume", path + ".ckpt", "--width", "32"])
        #expect(changed.status != 0 && changed.stderr.contains("keeps its checkpoint's model and training settings"), "\(changed.stderr)")
        let mlm = try train(["--model", "gpt", "--text", path, "--objective", "mlm", "--layers", "1", "--heads", "2", "--width", "16",
                             "--context", "8", "--batch", "4", "--iters", "4", "--eval-every", "2", "--eval-iters", "1", "--json"])
        #expect(mlm.status == 0 && mlm.stderr.contains("masked tokens"), "\(mlm.stderr)")
        let masked = try #require(try JSONSerialization.jsonObject(with: Data(mlm.stdout.utf8)) as? [String: Any])
        #expect(masked["objective"] as? String == "mlm" && (masked["val_loss"] as? Double ?? .nan).isFinite)
        let noSampling = try train(["--model", "gpt", "--text", path, "--objective", "mlm", "--tokens", "5"])
        #expect(noSampling.status != 0 && noSampling.stderr.contains("masked-token model"), "\(noSampling.stderr)")
        let bad = try train(["--model", "gpt", "--text", path, "--heads", "3", "--width", "16"])
        #expect(bad.status != 0 && bad.stderr.contains("--heads 3 must divide --width 16"), "\(bad.stderr)")
        let outside = try train(["--model", "gpt", "--text", path, "--iters", "1", "--layers", "1", "--width", "8", "--heads", "2",
                                 "--context", "8", "--tokens", "5", "--prompt", "XYZ"])
        #expect(outside.status != 0 && outside.stderr.contains("not in the model's vocabulary"), "\(outside.stderr)")
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

    /// Networks on the small data sets: a regression MLP on diabetes (mean squared error on
    /// standardised targets) and the binary classifier (one sigmoid output, binary
    /// cross-entropy) on breast cancer; each model file, run through the C interface, scores
    /// what `train` reported.
    @Test(arguments: [(["--dataset", "diabetes", "--epochs", "100", "--lr", "0.01", "--hidden", "16"], "diabetes"),
                      (["--dataset", "breast_cancer", "--binary", "--epochs", "50", "--lr", "0.01", "--hidden", "16"], "breast_cancer"),
                      (["--dataset", "iris", "--epochs", "100", "--hidden", "16", "--validation-fraction", "0.2", "--patience", "10"], "iris")])
    func networksOnSmallDataSets(_ arguments: [String], _ dataset: String) throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try train(["--model", "mlp", "--json", "--output", dir + "/m.bin"] + arguments, environment: ["SMALL_DATA_DIR": ""])
        try #require(r.status == 0, "\(r.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let verified = try ToolRunner.run("export-tool", packageRoot: packageRoot.path, binaryVariable: "EXPORT_TOOL_BINARY",
                                          arguments: ["verify", dir + "/m.bin", "--dataset", dataset, "--data",
                                                      packageRoot.path + "/Sources/train/Resources/small", "--json"])
        try #require(verified.status == 0, "\(verified.stderr)")
        let check = try #require(try JSONSerialization.jsonObject(with: Data(verified.stdout.utf8)) as? [String: Any])
        if dataset == "diabetes" {
            let mse = try #require(report["test_mse"] as? Double)
            #expect(report["loss"] as? String == "mse" && report["test_accuracy"] == nil)
            #expect(try #require(report["test_r2"] as? Double) > 0.3)
            #expect(abs((check["mse"] as? Double ?? -1) - mse) < 1e-4 * mse, "C \(check["mse"] ?? "?") against Swift \(mse)")
        } else {
            let accuracy = try #require(report["test_accuracy"] as? Double)
            #expect(accuracy > 0.9)
            #expect(check["accuracy"] as? Double == accuracy)
            if dataset == "breast_cancer" { #expect(report["loss"] as? String == "binary-cross-entropy") }
        }
    }

    @Test func smallDataSetNetworkOptionsAreChecked() throws {
        for (arguments, needle) in [(["--model", "mlp", "--dataset", "iris", "--binary"], "two-class"),
                                    (["--model", "mlp", "--dataset", "diabetes", "--binary"], "regression"),
                                    (["--model", "lenet", "--dataset", "iris"], "classic models")] {
            let r = try train(arguments)
            #expect(r.status != 0 && r.stderr.contains(needle), "\(arguments): \(r.stderr)")
        }
    }

    /// `--validation-fraction` holds rows out and stops early; the checkpoint's exported model is
    /// the best epoch's, so the C interface scores what `train` reported.
    @Test func earlyStoppingThroughTheCommandExportsTheBestEpoch() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let r = try train(["--epochs", "40", "--validation-fraction", "0.2", "--patience", "2", "--lr", "0.3", "--schedule", "constant",
                           "--checkpoint", dir + "/es.ckpt", "--json"])
        try #require(r.status == 0, "\(r.stderr)")
        let report = try #require(try JSONSerialization.jsonObject(with: Data(r.stdout.utf8)) as? [String: Any])
        let best = try #require(report["best_epoch"] as? Int), run = try #require(report["epochs_run"] as? Int)
        #expect(report["stopped_early"] as? Bool == true && run == best + 2 && run < 40, "\(report)")
        let held = try #require(report["validation_samples"] as? Int)
        #expect(report["train_samples"] as? Int == 1000 - held && abs(held - 200) <= 5, "\(held) held out")
        #expect(r.stderr.contains("weights from epoch \(best)"))
        let tool = { (arguments: [String]) throws in
            try ToolRunner.run("export-tool", packageRoot: packageRoot.path, binaryVariable: "EXPORT_TOOL_BINARY", arguments: arguments,
                               environment: ["MNIST_DIR": nil])
        }
        #expect(try tool(["convert", dir + "/es.ckpt", "-o", dir + "/es.bin"]).status == 0)
        let verified = try tool(["verify", dir + "/es.bin", "--json", "--data", packageRoot.path + "/Sources/train/Resources/mnist-sample"])
        let check = try #require(try JSONSerialization.jsonObject(with: Data(verified.stdout.utf8)) as? [String: Any])
        #expect(check["accuracy"] as? Double == report["test_accuracy"] as? Double)
        let conflict = try train(["--resume", dir + "/es.ckpt", "--validation-fraction", "0.3"])
        #expect(conflict.status != 0 && conflict.stderr.contains("cannot be changed when resuming"))
    }

    /// `kill -9` at random moments of a long `--checkpoint` run, again and again (each round
    /// resumes the killed run): whenever the process dies, the checkpoint on disk is the previous
    /// complete one and loads, and finishing from it ends with exactly the file of a run never
    /// interrupted. Temporary files of killed writers are cleared by the next writer.
    @Test func killedRunsLeaveALoadableCheckpointAndResumeBitIdentically() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let common = ["--hidden", "16", "--epochs", "200", "--seed", "5", "--quiet"]
        let straight = try train(common + ["--checkpoint", dir + "/straight"])
        try #require(straight.status == 0, "\(straight.stderr)")
        let path = dir + "/killed"
        var delays = SplitMixDelays(seed: 77)
        var kills = 0, epochsSeen = Set<Int>()
        for _ in 0..<30 {
            let arguments = FileManager.default.fileExists(atPath: path) ? ["--resume", path, "--checkpoint", path, "--quiet"]
                                                                           : common + ["--checkpoint", path]
            let process = try ToolRunner.start("train", packageRoot: packageRoot.path, binaryVariable: "TRAIN_BINARY", arguments: arguments,
                                               environment: ["MNIST_DIR": nil])
            usleep(delays.next(upTo: 150_000))
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            if process.terminationReason == .uncaughtSignal { kills += 1 }
            guard FileManager.default.fileExists(atPath: path) else { continue }
            let checkpoint = try Checkpoint.read(path: path) // throws if a kill left a broken file
            epochsSeen.insert(checkpoint.header.epoch)
            if checkpoint.header.epoch == 200 { break }
        }
        let finish = try train(["--resume", path, "--checkpoint", path, "--quiet"])
        #expect(finish.status == 0, "\(finish.stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == Data(contentsOf: URL(fileURLWithPath: dir + "/straight")))
        #expect(kills >= 10, "only \(kills) runs were killed")
        #expect(epochsSeen.count >= 3, "kills landed at too few points: \(epochsSeen.sorted())")
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir).sorted() == ["killed", "straight"])
    }

    /// A write that fails part-way (the file-size limit stands in for a full disk: writes past it
    /// fail with EFBIG) is reported with the reason, and the previous checkpoint stays as it was.
    @Test func aFailedWriteKeepsThePreviousCheckpoint() throws {
        let dir = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let path = dir + "/full.ckpt"
        #expect(try train(["--hidden", "16", "--epochs", "1", "--quiet", "--checkpoint", path]).status == 0)
        let before = try Data(contentsOf: URL(fileURLWithPath: path))
        let binary = try ToolRunner.binary("train", packageRoot: packageRoot.path, binaryVariable: "TRAIN_BINARY")
        // 512-byte blocks in dash, 1024 in bash: a limit far below the file either way.
        let limit = before.count / 4096
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "trap '' XFSZ; ulimit -f \(limit); exec \"$0\" --resume \"$1\" --epochs 2 --checkpoint \"$1\" --quiet",
                             binary, path]
        var env = ProcessInfo.processInfo.environment
        env["MNIST_DIR"] = nil
        process.environment = env
        let err = Pipe()
        process.standardError = err
        process.standardOutput = FileHandle.nullDevice
        try process.run()
        let stderr = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus != 0)
        #expect(stderr.contains("write failed") && stderr.contains("File too large"), "\(stderr)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == before)
        #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["full.ckpt"])
    }
}

/// Reproducible pseudo-random delays for the kill test.
private struct SplitMixDelays {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next(upTo limit: UInt32) -> UInt32 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return UInt32((z ^ (z >> 31)) % UInt64(limit))
    }
}
