import Foundation

/// Test support: runs a command-line tool of this package, as built by `swift build`
/// (scripts/test.sh builds everything before `swift test`).
public enum ToolRunner {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Runs `<packageRoot>/.build/debug/<tool>`, or the binary named by the environment variable
    /// `binaryVariable`, with `arguments`. `environment` overrides the test's own environment;
    /// a nil value removes the variable. Returns the exit status and both outputs.
    public static func run(_ tool: String, packageRoot: String, binaryVariable: String, arguments: [String],
                           environment: [String: String?] = [:]) throws -> (status: Int32, stdout: String, stderr: String) {
        let process = try prepare(tool, packageRoot: packageRoot, binaryVariable: binaryVariable, arguments: arguments,
                                  environment: environment)
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        // Read both pipes to the end before waiting, so a chatty tool cannot block on a full pipe.
        let stdout = out.fileHandleForReading.readDataToEndOfFile()
        let stderr = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: stderr, as: UTF8.self))
    }

    /// The path of the built tool (or the one `binaryVariable` names).
    public static func binary(_ tool: String, packageRoot: String, binaryVariable: String) throws -> String {
        let binary = ProcessInfo.processInfo.environment[binaryVariable] ?? packageRoot + "/.build/debug/" + tool
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw Failure(description: "\(binary) is missing: run `swift build` (scripts/test.sh does) before `swift test`")
        }
        return binary
    }

    /// Starts the tool with its output discarded and returns at once (for tests that kill it).
    public static func start(_ tool: String, packageRoot: String, binaryVariable: String, arguments: [String],
                             environment: [String: String?] = [:]) throws -> Process {
        let process = try prepare(tool, packageRoot: packageRoot, binaryVariable: binaryVariable, arguments: arguments,
                                  environment: environment)
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        return process
    }

    private static func prepare(_ tool: String, packageRoot: String, binaryVariable: String, arguments: [String],
                                environment: [String: String?]) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: try binary(tool, packageRoot: packageRoot, binaryVariable: binaryVariable))
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
        return process
    }
}
