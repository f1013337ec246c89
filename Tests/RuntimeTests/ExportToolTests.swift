import Testing
import Foundation
import ToolRunner
import Infer
import Training
import ModelFile
import InferTools

/// Runs the built export-tool (EXPORT_TOOL_BINARY overrides the path).
private func exportTool(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
    try ToolRunner.run("export-tool", packageRoot: packageRoot.path, binaryVariable: "EXPORT_TOOL_BINARY", arguments: arguments,
                       environment: environment.mapValues { $0 })
}

private func json(_ text: String) throws -> [String: Any] {
    try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
}

@Suite(.serialized) struct ExportToolTests {
    let trained = TrainedModel.shared

    @Test func convertsACheckpointAndInspectsIt() throws {
        let dir = NSTemporaryDirectory() + "export-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try trained.writeCheckpoint(to: dir + "/run.ckpt")
        let convert = try exportTool(["convert", dir + "/run.ckpt", "-o", dir + "/model.bin"])
        #expect(convert.status == 0, "\(convert.stderr)")
        // The same bytes as writing the trained network directly: optimizer state dropped.
        #expect(try [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/model.bin"))) == trained.bytes)

        let inspect = try exportTool(["inspect", dir + "/model.bin", "--json"])
        #expect(inspect.status == 0)
        let object = try json(inspect.stdout)
        #expect(object["parameters"] as? Int == 784 * 64 + 64 + 64 * 10 + 10)
        #expect(object["file_bytes"] as? Int == trained.bytes.count)
        let model = try OpenModel(trained.bytes)
        #expect(object["arena_bytes"] as? Int == model.arenaLength)
        #expect(object["format_version"] as? Int == 2)
        let nodes = try #require(object["nodes"] as? [[String: Any]])
        #expect(nodes.map { $0["op"] as? String } == ["dense", "relu", "dense"])
        #expect(nodes[0]["output_shape"] as? [Int] == [64])
        // Weights stay in the file; the activations are the file's plan, part of the arena.
        let plan = object["plan"] as? [String: Any]
        #expect(plan?["weights_in_file"] as? Int == 4 * (784 * 64 + 64 + 64 * 10 + 10))
        let activations = plan?["activations"] as? Int ?? .max, runtime = plan?["runtime"] as? Int ?? .max
        #expect(activations > 0 && activations + runtime == model.arenaLength)
        let text = try exportTool(["inspect", dir + "/model.bin"])
        #expect(text.status == 0 && text.stdout.contains("format version 2") && text.stdout.contains("→ [64]")
                && text.stdout.contains("arena bytes"), "\(text.stdout)")
        // Version 1 on request, described layer by layer.
        let old = try exportTool(["convert", dir + "/run.ckpt", "-o", dir + "/v1.bin", "--format-version", "1"])
        #expect(old.status == 0 && (try? [UInt8](Data(contentsOf: URL(fileURLWithPath: dir + "/v1.bin")))) == trained.versionOneBytes)
        let v1 = try json(try exportTool(["inspect", dir + "/v1.bin", "--json"]).stdout)
        #expect((v1["layers"] as? [Any])?.count == 3 && v1["format_version"] as? Int == 1)
        let v1Plan = v1["graph_plan"] as? [String: Any]
        #expect((v1Plan?["arena"] as? Int ?? .max) < model.arenaLength)
    }

    @Test func convertsSafetensorsWithAnArchitecture() throws {
        let dir = NSTemporaryDirectory() + "export-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let source = fixtures.appendingPathComponent("mlp_784_16_10.safetensors").path
        let ok = try exportTool(["convert", source, "--arch", "mlp:784,16,10", "-o", dir + "/st.bin"])
        #expect(ok.status == 0, "\(ok.stderr)")
        let object = try json(try exportTool(["inspect", dir + "/st.bin", "--json"]).stdout)
        #expect(object["parameters"] as? Int == 784 * 16 + 16 + 16 * 10 + 10)
        let missingArch = try exportTool(["convert", source, "-o", dir + "/x.bin"])
        #expect(missingArch.status != 0 && missingArch.stderr.contains("--arch"))
        let wrongArch = try exportTool(["convert", source, "--arch", "mlp:784,32,10", "-o", dir + "/x.bin"])
        #expect(wrongArch.status != 0 && wrongArch.stderr.contains("[32, 784]"))
        let badArch = try exportTool(["convert", source, "--arch", "cnn:1", "-o", dir + "/x.bin"])
        #expect(badArch.status != 0 && badArch.stderr.contains("--arch"))
        #expect(!FileManager.default.fileExists(atPath: dir + "/x.bin"))
    }

    @Test func badInputsGetMessagesAndNonZeroExits() throws {
        let dir = NSTemporaryDirectory() + "export-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var corrupt = trained.bytes
        corrupt[1000] ^= 1
        try Data(corrupt).write(to: URL(fileURLWithPath: dir + "/corrupt.bin"))
        try Data("not a model".utf8).write(to: URL(fileURLWithPath: dir + "/text.bin"))
        let cases: [([String], String)] = [
            (["inspect", dir + "/corrupt.bin"], "checksum"),
            (["inspect", dir + "/text.bin"], "model"),
            (["inspect", dir + "/absent.bin"], "cannot open"),
            (["verify", dir + "/corrupt.bin", "--data", sampleDirectory], "checksum"),
            (["verify", dir + "/text.bin"], "MNIST_DIR"),
            (["convert", dir + "/text.bin", "-o", dir + "/out.bin"], "--arch"),
            (["convert", dir + "/text.bin", "--arch", "mlp:784,10", "-o", dir + "/out.bin"], "safetensors"),
            (["frobnicate"], "frobnicate"),
        ]
        for (arguments, expected) in cases {
            let r = try exportTool(arguments, environment: ["MNIST_DIR": ""])
            #expect(r.status != 0, "\(arguments) succeeded")
            #expect(r.stderr.lowercased().contains(expected.lowercased()), "\(arguments): \(r.stderr)")
        }
        #expect(!FileManager.default.fileExists(atPath: dir + "/out.bin"))
    }

    @Test func verifyReportsAccuracyThroughTheCInterface() throws {
        let dir = NSTemporaryDirectory() + "export-\(UUID().uuidString)"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        try Data(trained.bytes).write(to: URL(fileURLWithPath: dir + "/model.bin"))
        let r = try exportTool(["verify", dir + "/model.bin", "--data", sampleDirectory, "--json"])
        #expect(r.status == 0, "\(r.stderr)")
        let object = try json(r.stdout)
        #expect(object["count"] as? Int == 200)
        let expected = trained.swiftAccuracy(trained.test)
        #expect(abs((object["accuracy"] as? Double ?? -1) - expected) < 1e-9)
    }
}
