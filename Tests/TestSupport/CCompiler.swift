import Foundation

/// Builds shared libraries from C sources with the system C compiler, exactly
/// as a third party would (`cc -shared -fPIC -I<sdk> ...`).
public enum CCompiler {
    /// Compiles `source` into the shared library `output`.
    /// - Parameter defines: `NAME=VALUE` or `NAME` preprocessor definitions.
    public static func buildLibrary(source: String, output: String, defines: [String] = []) throws {
        let arguments = ["-std=c11", "-O1", "-Wall", "-Werror", "-fPIC", "-shared", "-I", TestPaths.sdkInclude]
            + defines.map { "-D" + $0 } + ["-o", output, source, "-lm"]
        try Command.run("/usr/bin/env", ["cc"] + arguments)
    }
}
