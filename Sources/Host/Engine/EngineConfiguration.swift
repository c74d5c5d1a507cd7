public import Storage
public import CoreMetrics

/// Settings of the engine. Docs/configuration.md lists them with their defaults
/// and Docs/benchmarks.md the measurements the defaults come from.
public struct EngineConfiguration: Sendable {
    /// The directory of the database (created if missing).
    public var dataDirectory: String
    /// How hard commits are pushed to disk.
    public var durability: Durability = .normal
    /// Most feedback events in one micro-batch (one transaction).
    public var batchMaxSize = 1_000
    /// Longest a feedback event waits for its batch to fill.
    public var batchMaxWait: Duration = .milliseconds(1)
    /// Most feedback events waiting; beyond it callers are told to retry later.
    public var queueCapacity = 100_000
    /// Longest a decision waits before it is written to the decision log.
    public var decisionFlushInterval: Duration = .milliseconds(20)
    /// Most decisions waiting to be logged; beyond it decisions are refused.
    public var decisionLogCapacity = 200_000
    /// A strategy's state is saved as a new version after this many events...
    public var snapshotEveryEvents = 10_000
    /// ...or this long after its first unsaved event.
    public var snapshotInterval: Duration = .seconds(60)
    /// A strategy whose `select` calls take longer than this (a moving
    /// average of the plugin's own time) is served on a queue of its own, off
    /// the threads that serve every request (see `Lineage+Selection`).
    public var slowSelect: Duration = .milliseconds(1)
    /// Run SQLite's quick integrity check on the database before starting
    /// (about 0.8 s for a 290 MB database); a damaged one is refused.
    public var checkIntegrityAtStart = true
    /// The write-ahead log's bound: past a quarter of it the log is emptied
    /// between two transactions (see `Checkpointer`).
    public var maxLogBytes = 64 * 1024 * 1024
    /// The estimated memory of the experiments kept loaded; past it, the ones
    /// used the longest ago leave memory (saved first if they learned since
    /// their last version) and are loaded again on their next use.
    public var residentMemoryBytes = 256 * 1024 * 1024
    /// Routes of recent decisions kept in memory, so feedback for them needs
    /// no database read.
    public var recentDecisionCapacity = 131_072
    /// Where the engine's metrics go (batch sizes, event-to-model latency,
    /// versions written); nil for swift-metrics' global system.
    public var metrics: (any MetricsFactory)?

    /// This host's number among several on one Kafka topic (1 to 255), in
    /// the top 8 bits of its decision ids so no two hosts issue the same
    /// id; 0 for a host on its own.
    public var nodeID = 0
    public init(dataDirectory: String) {
        self.dataDirectory = dataDirectory
    }

    /// The SQLite database file, in the data directory.
    public var databasePath: String { dataDirectory + "/arbiter.sqlite" }
}
