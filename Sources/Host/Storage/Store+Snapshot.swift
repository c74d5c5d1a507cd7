internal import SQLite

extension Store {
    /// Writes a consistent copy of the whole database to `path` (SQLite's
    /// `VACUUM INTO`, one read transaction: safe while a server writes).
    /// The copy holds everything a new host needs to start where this one
    /// stood: experiments, keys, versions, the event log and the Kafka
    /// offsets stored with it.
    public func snapshot(into path: String) throws {
        try database.with("VACUUM INTO ?") { s throws(SQLiteError) in
            try s.bind(1, path)
            try s.step()
        }
    }
}
