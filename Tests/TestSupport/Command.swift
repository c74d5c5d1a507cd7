internal import Foundation

/// Runs a command of this machine (the C compiler, python3, the built `arbiter`) and reads what it printed.
public enum Command {
    public struct Failure: Error, CustomStringConvertible {
        public let description: String
    }

    /// What a finished command printed, and its exit status.
    public struct Outcome: Sendable {
        public let status: Int32
        public let output: String
        public let error: String
    }

    /// Runs a command and returns its exit status, standard output and standard error apart.
    public static func outcome(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> Outcome {
        // Standard error goes to a file, so that neither stream can fill up and block the command.
        let errorFile = FileManager.default.temporaryDirectory.appendingPathComponent("arbiter-command-\(UUID().uuidString).err")
        guard FileManager.default.createFile(atPath: errorFile.path, contents: nil) else {
            throw Failure(description: "cannot create \(errorFile.path)")
        }
        defer { try? FileManager.default.removeItem(at: errorFile) }
        let errorHandle = try FileHandle(forWritingTo: errorFile)
        let (status, output) = try execute(executable, arguments, environment: environment, errors: errorHandle)
        try errorHandle.close()
        let error = String(decoding: try Data(contentsOf: errorFile), as: UTF8.self)
        return Outcome(status: status, output: output, error: error)
    }

    /// Runs a command on a thread of its own (not one of Swift concurrency's,
    /// which a test's server needs) and returns its exit status, standard
    /// output and standard error apart.
    public static func outcome(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) async throws -> Outcome {
        try await withCheckedThrowingContinuation { continuation in
            DispatchQueue.global().async {
                continuation.resume(with: Result { try outcome(executable, arguments, environment: environment) as Outcome })
            }
        }
    }

    /// Runs a command and returns its standard output and error together;
    /// fails with them when it exits non-zero.
    @discardableResult
    public static func run(_ executable: String, _ arguments: [String], environment: [String: String]? = nil) throws -> String {
        let (status, output) = try execute(executable, arguments, environment: environment, errors: nil)
        guard status == 0 else {
            throw Failure(description: "\(executable) \(arguments.joined(separator: " ")) exited \(status):\n\(output)")
        }
        return output
    }

    /// Runs a command to its end; standard error goes to `errors`, or with
    /// standard output into what is returned when nil.
    private static func execute(_ executable: String, _ arguments: [String], environment: [String: String]?,
                                errors: FileHandle?) throws -> (status: Int32, output: String) {
        let child = try ChildProcess(executable, arguments, environment: environment, standardOutput: .pipe,
                                     standardError: errors.map { .file($0) } ?? .standardOutput)
        let output = String(decoding: child.output!.readDataToEndOfFile(), as: UTF8.self)
        switch child.wait() as ChildProcess.Termination {
        case let .exit(status): return (status, output)
        case let .signal(signal): return (128 + signal, output)
        }
    }
}
