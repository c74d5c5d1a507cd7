internal import Dispatch
internal import FoundationEssentials
internal import SQLite
internal import Synchronization
#if canImport(Glibc)
internal import Glibc
#endif

/// Moves the write-ahead log into the database file in the background, and
/// keeps the log's size bounded.
///
/// SQLite's automatic checkpoint runs inside a commit, on the committing
/// connection, and stalls it for the time it takes to copy the log and sync
/// the file (measured: the p99 of event-to-model latency went from about 3 ms
/// to 18 ms with it). So the writer connection turns it off and this
/// checkpointer, on its own connection and thread, runs PASSIVE checkpoints
/// (which never block the writer) at a fixed interval.
///
/// A PASSIVE checkpoint copies the log into the database but never starts the
/// log over: SQLite rewinds it only when a write begins after a checkpoint
/// that copied everything, which under sustained writes never happens, so the
/// log grew without end (3.3 GB in a minute of experiment creation). When the
/// log passes a quarter of `maxLogBytes`, the checkpointer asks for a reset,
/// and the writer, between two transactions (so that no write waits for a
/// lock), runs a TRUNCATE checkpoint: it copies the little the last PASSIVE
/// one left and empties the log. A reader holding an old snapshot can delay
/// it (for at most `resetBusyTimeout` per try); it is tried again after the
/// next batch.
public final class Checkpointer: Sendable {
    private let database: Mutex<Database>
    private let logPath: String
    /// The log's bound; a reset is asked for at a quarter of it.
    public let maxLogBytes: Int
    private let stopped = Atomic<Bool>(false)
    private let resetWanted = Atomic<Bool>(false)
    private let largest = Atomic<Int>(0)
    private let resets = Atomic<Int>(0)
    private let wake = DispatchSemaphore(value: 0)
    private let finished = DispatchSemaphore(value: 0)

    /// How long a reset waits for readers to leave the log.
    static let resetBusyTimeoutMilliseconds: Int32 = 100

    /// Opens a connection to `path` and starts checkpointing every `intervalMilliseconds`.
    public init(path: String, maxLogBytes: Int = 64 * 1024 * 1024, intervalMilliseconds: Int = 100) throws {
        let database = try Database(path: path)
        try database.execute("PRAGMA busy_timeout = \(Self.resetBusyTimeoutMilliseconds)")
        self.database = Mutex(database)
        logPath = path + "-wal"
        self.maxLogBytes = maxLogBytes
        DispatchQueue(label: "arbiter.checkpoint", qos: .utility).async { [self] in
            while !stopped.load(ordering: .relaxed) {
                _ = wake.wait(timeout: .now() + .milliseconds(intervalMilliseconds))
                guard !stopped.load(ordering: .relaxed) else { break }
                _ = try? checkpoint(mode: "PASSIVE")
                if logBytes > maxLogBytes / 4 { resetWanted.store(true, ordering: .relaxed) }
            }
            finished.signal()
        }
    }

    /// The log file's size now.
    public var logBytes: Int {
        var status = stat()
        guard stat(logPath, &status) == 0 else { return 0 }
        let size = Int(status.st_size)
        largest.store(max(largest.load(ordering: .relaxed), size), ordering: .relaxed)
        return size
    }

    /// The largest log size seen since start.
    public var largestLogBytes: Int { largest.load(ordering: .relaxed) }

    /// Resets done since start.
    public var resetCount: Int { resets.load(ordering: .relaxed) }

    /// True when the log should be reset (call `reset()` between transactions).
    public var wantsReset: Bool { resetWanted.load(ordering: .relaxed) }

    /// Copies what is left of the log and empties it (a TRUNCATE checkpoint).
    /// Call it from the writer, outside any transaction. Returns true when
    /// the log was emptied; false when a reader kept it (asked again later).
    @discardableResult
    public func reset() -> Bool {
        let remaining = (try? checkpoint(mode: "TRUNCATE")) ?? -1
        guard remaining == 0, logBytes == 0 else { return false }
        resetWanted.store(false, ordering: .relaxed)
        resets.add(1, ordering: .relaxed)
        return true
    }

    /// Runs one checkpoint; returns the number of log frames not copied yet
    /// (or -1 when it could not finish, SQLITE_BUSY).
    @discardableResult
    public func checkpoint(mode: String) throws -> Int64 {
        try database.withLock { database in
            try database.with("PRAGMA wal_checkpoint(\(mode))") { statement throws(SQLiteError) in
                guard try statement.step() else { return 0 }
                if statement.int64(0) != 0 { return -1 }
                return statement.int64(1) - statement.int64(2)
            }
        }
    }

    /// Stops the background checkpoints and empties the log (call after the
    /// last write).
    public func stop() {
        guard !stopped.exchange(true, ordering: .relaxed) else { return }
        wake.signal()
        finished.wait()
        _ = try? checkpoint(mode: "TRUNCATE")
    }
}
