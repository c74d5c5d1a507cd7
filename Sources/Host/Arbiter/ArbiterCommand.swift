import ArgumentParser

/// The `arbiter` executable.
@main
struct ArbiterCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "arbiter",
        abstract: "A server for multi-armed bandit selection strategies loaded as plugins.",
        subcommands: [ServeCommand.self, KeysCommand.self, PluginsCommand.self, SimulateCommand.self, ReportCommand.self, EvaluateCommand.self, LoadCommand.self, SnapshotCommand.self]
    )
}
