public import SQLite
internal import FoundationEssentials

/// Arbiter's tables behind typed methods, over one SQLite connection. The host
/// opens one writer (used by the write pipeline only) and reader connections;
/// WAL mode lets readers run beside the writer.
///
/// Not thread-safe, like the connection it wraps.
public final class Store {
    public let database: Database
    public let durability: Durability

    /// Opens the database file, sets WAL mode and the durability, and (for the
    /// writer) brings the schema up to date.
    public init(path: String, durability: Durability = .normal, migrate: Bool = true) throws {
        database = try Database(path: path)
        self.durability = durability
        try database.execute("PRAGMA busy_timeout = 5000")
        if migrate {
            try database.execute("PRAGMA journal_mode = WAL")
        }
        try database.execute("PRAGMA synchronous = \(durability.pragma)")
        try database.execute("PRAGMA foreign_keys = ON")
        try database.execute("PRAGMA temp_store = MEMORY")
        // Checkpoints run in the background (see Checkpointer), never inside a commit.
        try database.execute("PRAGMA wal_autocheckpoint = 0")
        if migrate {
            try Schema.migrate(database)
        }
    }

    /// A store over a connection already set up (inside a migration).
    init(database: Database) {
        self.database = database
        self.durability = .normal
    }

    /// Milliseconds since the Unix epoch.
    public static func now() -> Int64 {
        Int64((Date().timeIntervalSince1970 * 1000).rounded())
    }

    /// Runs `body` in one transaction (see `Database.transaction`).
    public func transaction<T>(_ body: () throws -> T) throws -> T {
        try database.transaction(body)
    }

    // MARK: Meta

    /// Counts this start of the host and returns its number, durably (synced
    /// even at `normal` durability), so ids built from it are never reused.
    public func nextBoot() throws -> Int64 {
        try database.execute("PRAGMA synchronous = FULL")
        defer { try? database.execute("PRAGMA synchronous = \(durability.pragma)") }
        return try transaction { () throws -> Int64 in
            try database.with("INSERT INTO meta (key, value) VALUES ('boot', '1') ON CONFLICT (key) DO UPDATE SET value = CAST(value AS INTEGER) + 1") { statement throws(SQLiteError) in
                try statement.step()
            }
            return Int64(try metaValue("boot") ?? "1") ?? 1
        }
    }

    /// A small write that fails when the disk (or the database's limit) is
    /// full: the writer's probe for space having returned.
    public func recordWriteProbe() throws {
        try database.with("INSERT INTO meta (key, value) VALUES ('write_probe', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value") { statement throws(SQLiteError) in
            try statement.bind(1, String(Store.now()))
            try statement.step()
        }
    }

    public func metaValue(_ key: String) throws -> String? {
        try database.with("SELECT value FROM meta WHERE key = ?") { statement throws(SQLiteError) in
            try statement.bind(1, key)
            return try statement.step() ? statement.string(0) : nil
        }
    }
}

/// FNV-1a (64-bit) of a state, in hex: stored with every model version and
/// checked when the version is read back, to catch a corrupted blob.
public func stateChecksum(_ bytes: [UInt8]) -> String {
    var hash: UInt64 = 0xCBF2_9CE4_8422_2325
    for byte in bytes {
        hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }
    let hex = String(hash, radix: 16)
    return "fnv1a64:" + String(repeating: "0", count: 16 - hex.count) + hex
}
