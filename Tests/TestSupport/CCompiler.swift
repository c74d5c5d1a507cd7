import Foundation

/// Builds shared libraries from C sources with the system C compiler, exactly
/// as a third party would (`cc -shared -fPIC -I<sdk> ...`).
public enum CCompiler {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Compiles `source` into the shared library `output`.
    /// - Parameter defines: `NAME=VALUE` or `NAME` preprocessor definitions.
    public static func buildLibrary(source: String, output: String, defines: [String] = []) throws {
        let arguments = ["-std=c11", "-O1", "-Wall", "-Werror", "-fPIC", "-shared", "-I", TestPaths.sdkInclude]
            + defines.map { "-D" + $0 } + ["-o", output, source, "-lm"]
        try run("/usr/bin/env", ["cc"] + arguments)
    }

    /// Runs a command and fails with its output when it exits non-zero.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        if let environment {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) exited \(process.terminationStatus):\n\(output)")
        }
        return output
    }
}
