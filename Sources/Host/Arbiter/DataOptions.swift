public import ArgumentParser
import Engine
import FoundationEssentials
import SQLite
import Storage

/// Where the database lives and how durable commits are, shared by every
/// subcommand that touches the database.
struct DataOptions: ParsableArguments {
    static let environmentVariable = "ARBITER_DATA_DIR"

    @Option(name: .customLong("data-dir"), help: ArgumentHelp(
        "Directory of the SQLite database (default: $\(DataOptions.environmentVariable), else ./data).", valueName: "path"))
    var dataDirectory: String?

    @Option(help: "Commit durability: normal (survives a crash of the process) or full (survives power loss).")
    var durability: Durability = .normal

    /// The data directory, created if missing.
    func directory() throws -> String {
        let path = dataDirectory ?? ProcessInfo.processInfo.environment[Self.environmentVariable] ?? "data"
        try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
        return path
    }

    /// The database file inside the data directory.
    func databasePath() throws -> String {
        try directory() + "/arbiter.sqlite"
    }

    /// The database as it is, for commands that only read it beside a
    /// running server: never created, never migrated.
    func existingStore() throws -> Store {
        let path = try databasePath()
        guard FileManager.default.fileExists(atPath: path) else { throw CommandFailure("no database at \(path): give --data-dir") }
        let store = try Store(path: path, migrate: false)
        let version = Int(try store.database.scalar("PRAGMA user_version"))
        guard version == Schema.currentVersion else {
            throw CommandFailure("\(path) has schema version \(version); this build reads \(Schema.currentVersion) (start the server of this build once to migrate it)")
        }
        return store
    }

    func engineConfiguration() throws -> EngineConfiguration {
        var configuration = EngineConfiguration(dataDirectory: try directory())
        configuration.durability = durability
        return configuration
    }
}

extension Durability: ExpressibleByArgument {}
