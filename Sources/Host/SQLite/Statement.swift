internal import CSQLite

/// A prepared statement. Bind parameters by 1-based index, step, read columns
/// by 0-based index. Owned by one `Database`, which caches and reuses it.
public final class Statement {
    let handle: OpaquePointer
    /// The SQL text it was prepared from.
    public let sql: String
    unowned let database: Database

    init(handle: OpaquePointer, sql: String, database: Database) {
        self.handle = handle
        self.sql = sql
        self.database = database
    }

    deinit {
        sqlite3_finalize(handle)
    }

    /// Resets the statement and clears its bindings, ready for the next use.
    public func reset() {
        sqlite3_reset(handle)
        sqlite3_clear_bindings(handle)
    }

    // MARK: Binding

    private func check(_ result: Int32) throws(SQLiteError) {
        guard result == SQLITE_OK else { throw database.error(result, sql: sql) }
    }

    public func bind(_ index: Int32, _ value: Int64) throws(SQLiteError) {
        try check(sqlite3_bind_int64(handle, index, value))
    }

    public func bind(_ index: Int32, _ value: Int) throws(SQLiteError) {
        try bind(index, Int64(value))
    }

    /// Binds all 64 bits of an unsigned value (read back with `uint64(_:)`).
    public func bind(_ index: Int32, _ value: UInt64) throws(SQLiteError) {
        try bind(index, Int64(bitPattern: value))
    }

    public func bind(_ index: Int32, _ value: Double) throws(SQLiteError) {
        try check(sqlite3_bind_double(handle, index, value))
    }

    /// Binds the string's UTF-8 bytes, all of them (a NUL inside included),
    /// from the string's own storage: no C string is made for it.
    public func bind(_ index: Int32, _ value: String) throws(SQLiteError) {
        var value = value
        let result = value.withUTF8 { bytes in
            // An empty string still needs a pointer: a null one binds NULL.
            guard let base = bytes.baseAddress, !bytes.isEmpty else { return sqlite3_bind_text(handle, index, "", 0, csqlite_transient()) }
            return base.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                sqlite3_bind_text64(handle, index, $0, sqlite3_uint64(bytes.count), csqlite_transient(), UInt8(SQLITE_UTF8))
            }
        }
        try check(result)
    }

    public func bind(_ index: Int32, _ value: [UInt8]) throws(SQLiteError) {
        let result = value.withUnsafeBytes { bytes in
            sqlite3_bind_blob64(handle, index, bytes.baseAddress, sqlite3_uint64(bytes.count), csqlite_transient())
        }
        try check(result)
    }

    /// Binds bytes in place (SQLite copies them).
    public func bind(_ index: Int32, bytes: UnsafeRawBufferPointer) throws(SQLiteError) {
        guard let base = bytes.baseAddress, !bytes.isEmpty else {
            return try check(sqlite3_bind_zeroblob(handle, index, 0))
        }
        try check(sqlite3_bind_blob64(handle, index, base, sqlite3_uint64(bytes.count), csqlite_transient()))
    }

    public func bindNull(_ index: Int32) throws(SQLiteError) {
        try check(sqlite3_bind_null(handle, index))
    }

    public func bind(_ index: Int32, _ value: String?) throws(SQLiteError) {
        if let value { try bind(index, value) } else { try bindNull(index) }
    }

    public func bind(_ index: Int32, _ value: Int64?) throws(SQLiteError) {
        if let value { try bind(index, value) } else { try bindNull(index) }
    }

    public func bind(_ index: Int32, _ value: [UInt8]?) throws(SQLiteError) {
        if let value { try bind(index, value) } else { try bindNull(index) }
    }

    // MARK: Stepping

    /// Advances to the next row; false when the statement is done.
    @discardableResult
    public func step() throws(SQLiteError) -> Bool {
        let result = sqlite3_step(handle)
        switch result {
        case SQLITE_ROW: return true
        case SQLITE_DONE: return false
        default: throw database.error(result, sql: sql)
        }
    }

    /// Runs a statement that returns no rows.
    public func run() throws(SQLiteError) {
        defer { reset() }
        try step()
    }

    // MARK: Columns

    public func isNull(_ column: Int32) -> Bool {
        sqlite3_column_type(handle, column) == SQLITE_NULL
    }

    public func int64(_ column: Int32) -> Int64 {
        sqlite3_column_int64(handle, column)
    }

    public func int(_ column: Int32) -> Int {
        Int(sqlite3_column_int64(handle, column))
    }

    public func uint64(_ column: Int32) -> UInt64 {
        UInt64(bitPattern: sqlite3_column_int64(handle, column))
    }

    public func double(_ column: Int32) -> Double {
        sqlite3_column_double(handle, column)
    }

    public func string(_ column: Int32) -> String {
        guard let text = sqlite3_column_text(handle, column) else { return "" }
        let count = Int(sqlite3_column_bytes(handle, column))
        return String(decoding: UnsafeBufferPointer(start: text, count: count), as: UTF8.self)
    }

    public func optionalString(_ column: Int32) -> String? {
        isNull(column) ? nil : string(column)
    }

    public func blob(_ column: Int32) -> [UInt8] {
        let count = Int(sqlite3_column_bytes(handle, column))
        guard count > 0, let bytes = sqlite3_column_blob(handle, column) else { return [] }
        return Array(UnsafeRawBufferPointer(start: bytes, count: count))
    }

    public func optionalBlob(_ column: Int32) -> [UInt8]? {
        isNull(column) ? nil : blob(column)
    }
}
