internal import FoundationEssentials

/// Where plugins are looked for: an explicit directory, else the
/// `ARBITER_PLUGIN_DIR` environment variable, else the directory of the
/// running executable (where `swift build` puts the strategy libraries).
public enum PluginDirectory {
    /// The environment variable that overrides the default directory.
    public static let environmentVariable = "ARBITER_PLUGIN_DIR"

    /// Resolves the plugin directory.
    public static func resolve(explicit: String? = nil) -> String {
        if let explicit, !explicit.isEmpty { return explicit }
        if let fromEnvironment = ProcessInfo.processInfo.environment[environmentVariable], !fromEnvironment.isEmpty {
            return fromEnvironment
        }
        return executableDirectory
    }

    /// The directory holding the running executable.
    public static var executableDirectory: String {
        let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe"))
            ?? CommandLine.arguments[0]
        let url = URL(fileURLWithPath: executable).deletingLastPathComponent()
        return url.path
    }
}
