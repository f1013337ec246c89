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
        #expect((object["layers"] as? [Any])?.count == 3)
        // The model as a graph: weights stay in the file, and its arena is below the runtime's.
        let plan = object["graph_plan"] as? [String: Any]
        #expect(plan?["weights_in_file"] as? Int == 4 * (784 * 64 + 64 + 64 * 10 + 10))
        #expect((plan?["arena"] as? Int ?? .max) < model.arenaLength)
        let text = try exportTool(["inspect", dir + "/model.bin"])
        #expect(text.status == 0 && text.stdout.contains("dense 784 → 64") && text.stdout.contains("arena bytes"))
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
