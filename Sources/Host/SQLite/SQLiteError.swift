internal import CSQLite

/// An error from SQLite, carrying its result code and message.
public struct SQLiteError: Error, Sendable, CustomStringConvertible {
    /// The extended result code (e.g. 2067 for SQLITE_CONSTRAINT_UNIQUE).
    public let code: Int32
    /// SQLite's message.
    public let message: String
    /// The statement, when one was involved.
    public let sql: String?

    public init(code: Int32, message: String, sql: String? = nil) {
        self.code = code
        self.message = message
        self.sql = sql
    }

    /// The primary result code (the low byte of the extended one).
    public var primaryCode: Int32 { code & 0xFF }

    /// True for SQLITE_BUSY and SQLITE_LOCKED.
    public var isBusy: Bool { primaryCode == SQLITE_BUSY || primaryCode == SQLITE_LOCKED }

    /// True for SQLITE_FULL: the disk, or the database's page limit, is full.
    public var isFull: Bool { primaryCode == SQLITE_FULL }

    /// True for a constraint violation (unique, check, foreign key...).
    public var isConstraint: Bool { primaryCode == SQLITE_CONSTRAINT }

    public var description: String {
        "SQLite error \(code): \(message)" + (sql.map { " in: \($0)" } ?? "")
    }
}
