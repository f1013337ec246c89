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
        let binary = ProcessInfo.processInfo.environment[binaryVariable] ?? packageRoot + "/.build/debug/" + tool
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw Failure(description: "\(binary) is missing: run `swift build` (scripts/test.sh does) before `swift test`")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment
        for (key, value) in environment { env[key] = value }
        process.environment = env
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
}
