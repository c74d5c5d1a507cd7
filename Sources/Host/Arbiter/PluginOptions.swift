import ArgumentParser
import Logging
import PluginHost

/// Where to find plugins, shared by every subcommand that loads them.
struct PluginOptions: ParsableArguments {
    @Option(name: .customLong("plugin-dir"), help: ArgumentHelp(
        "Directory of strategy plugins (default: $\(PluginDirectory.environmentVariable), else the executable's directory).",
        valueName: "path"))
    var directory: String?

    /// Loads the plugins; loader diagnostics go to the log at `logLevel`.
    func load(logLevel: Logger.Level = .warning) -> PluginCatalog {
        var logger = Logger(label: "arbiter.plugins")
        logger.logLevel = logLevel
        return PluginLoader(logger: logger).loadDirectory(PluginDirectory.resolve(explicit: directory))
    }
}
