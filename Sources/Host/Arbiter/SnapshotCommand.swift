import ArgumentParser
import FoundationEssentials
import Storage

/// `arbiter snapshot`: a consistent copy of a data directory's database,
/// taken while its server runs; how a new host of several on one Kafka topic
/// starts (Docs/kafka.md).
struct SnapshotCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "snapshot",
        abstract: "Copy the database into a new data directory (safe while the server runs).",
        discussion: """
            The copy holds the experiments, API keys, strategy versions, the event log and the \
            Kafka offsets stored with it: a host started on it (with a node id of its own) \
            resumes consuming where the copy was taken and catches up.
            """
    )

    @OptionGroup var data: DataOptions
    @Option(help: ArgumentHelp("The new data directory (created; must not hold a database).", valueName: "path"))
    var into: String

    func run() throws {
        let store = try data.existingStore()
        let target = into + "/arbiter.sqlite"
        guard !FileManager.default.fileExists(atPath: target) else {
            throw ValidationError("\(target) exists: give a new directory to --into")
        }
        try FileManager.default.createDirectory(atPath: into, withIntermediateDirectories: true)
        try store.snapshot(into: target)
        print("snapshot of \(try data.databasePath()) written to \(target)")
    }
}
