internal import CSQLite

/// One SQLite connection, used directly through libsqlite3: statements are
/// prepared once and reused from a cache, transactions are explicit, and every
/// failure is a `SQLiteError` with SQLite's code and message.
///
/// Not thread-safe: a connection is confined to one thread at a time (its
/// owner serialises access).
public final class Database {
    let handle: OpaquePointer
    /// The file it opened.
    public let path: String
    private var statements: [String: Statement] = [:]
    private var staticStatements: [UnsafeRawPointer: Statement] = [:]

    /// Opens (creating if needed) the database at `path`.
    /// - Parameter readOnly: open without write access (a reader connection).
    public init(path: String, readOnly: Bool = false) throws(SQLiteError) {
        var handle: OpaquePointer?
        let flags = (readOnly ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE) | SQLITE_OPEN_NOMUTEX
        let result = sqlite3_open_v2(path, &handle, flags, nil)
        guard result == SQLITE_OK, let handle else {
            let message = handle.map { String(cString: sqlite3_errmsg($0)) } ?? "cannot open"
            sqlite3_close_v2(handle)
            throw SQLiteError(code: result, message: message + " (\(path))")
        }
        self.handle = handle
        self.path = path
        sqlite3_extended_result_codes(handle, 1)
    }

    deinit {
        staticStatements.removeAll()
        statements.removeAll()
        sqlite3_close_v2(handle)
    }

    /// The error for a failed call, with the connection's current message.
    func error(_ code: Int32, sql: String? = nil) -> SQLiteError {
        SQLiteError(code: sqlite3_extended_errcode(handle) != 0 ? sqlite3_extended_errcode(handle) : code,
                    message: String(cString: sqlite3_errmsg(handle)), sql: sql)
    }

    /// Runs one or more statements without results (schema, pragmas).
    public func execute(_ sql: String) throws(SQLiteError) {
        var message: UnsafeMutablePointer<CChar>?
        let result = sqlite3_exec(handle, sql, nil, nil, &message)
        guard result == SQLITE_OK else {
            let text = message.map { String(cString: $0) } ?? String(cString: sqlite3_errmsg(handle))
            sqlite3_free(message)
            throw SQLiteError(code: sqlite3_extended_errcode(handle), message: text, sql: sql)
        }
    }

    /// The prepared statement for `sql`, from the cache when it was prepared
    /// before. It comes back reset, with no bindings.
    public func prepare(_ sql: String) throws(SQLiteError) -> Statement {
        if let cached = statements[sql] {
            return cached
        }
        var statement: OpaquePointer?
        let result = sqlite3_prepare_v3(handle, sql, -1, UInt32(SQLITE_PREPARE_PERSISTENT), &statement, nil)
        guard result == SQLITE_OK, let statement else { throw error(result, sql: sql) }
        let prepared = Statement(handle: statement, sql: sql, database: self)
        statements[sql] = prepared
        return prepared
    }

    /// The prepared statement for a literal `sql`, cached by the literal's
    /// address: the hot paths use this form, which costs no string hashing.
    public func prepare(_ sql: StaticString) throws(SQLiteError) -> Statement {
        let key = UnsafeRawPointer(sql.utf8Start)
        if let cached = staticStatements[key] {
            return cached
        }
        let statement = try prepare(sql.description)
        staticStatements[key] = statement
        return statement
    }

    /// Runs `body` with the prepared statement for a literal `sql`, resetting it afterwards.
    @discardableResult
    public func with<T>(_ sql: StaticString, _ body: (Statement) throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        let statement = try prepare(sql)
        defer { statement.reset() }
        return try body(statement)
    }

    /// Runs `body` with the prepared statement for `sql`, resetting it afterwards.
    @discardableResult
    public func with<T>(_ sql: String, _ body: (Statement) throws(SQLiteError) -> T) throws(SQLiteError) -> T {
        let statement = try prepare(sql)
        defer { statement.reset() }
        return try body(statement)
    }

    /// The value of a single-value PRAGMA or query.
    public func scalar(_ sql: String) throws(SQLiteError) -> Int64 {
        try with(sql) { statement throws(SQLiteError) in
            guard try statement.step() else { return 0 }
            return statement.int64(0)
        }
    }

    /// Runs `body` in a transaction: committed when it returns, rolled back
    /// when it throws (nothing of it is written).
    /// - Parameter immediate: take the write lock at once (BEGIN IMMEDIATE).
    public func transaction<T>(immediate: Bool = true, _ body: () throws -> T) throws -> T {
        try execute(immediate ? "BEGIN IMMEDIATE" : "BEGIN")
        do {
            let result = try body()
            try execute("COMMIT")
            return result
        } catch {
            try? execute("ROLLBACK")
            throw error
        }
    }

    /// The rowid of the last successful INSERT on this connection.
    public var lastInsertRowID: Int64 { sqlite3_last_insert_rowid(handle) }

    /// Rows changed by the last INSERT, UPDATE or DELETE.
    public var changes: Int { Int(sqlite3_changes(handle)) }

    /// The SQLite library version, e.g. "3.40.1".
    public static var libraryVersion: String { String(cString: sqlite3_libversion()) }
}
