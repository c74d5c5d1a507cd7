internal import SQLite

extension Store {
    /// Inserts a learning event; returns its sequence number, or nil when an
    /// event with the same id already exists for the tenant (a duplicate).
    public func insertEvent(tenantID: Int64, eventID: String, decisionID: UInt64, strategyID: Int64,
                            arm: Int, reward: Double, weight: Double, createdAt: Int64) throws -> Int64? {
        let sql: StaticString = """
            INSERT INTO learning_events (tenant_id, event_id, decision_id, strategy_id, arm, reward, weight, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (tenant_id, event_id) DO NOTHING
            """
        return try database.with(sql) { s throws(SQLiteError) in
            try s.bind(1, tenantID)
            try s.bind(2, eventID)
            try s.bind(3, decisionID)
            try s.bind(4, strategyID)
            try s.bind(5, arm)
            try s.bind(6, reward)
            try s.bind(7, weight)
            try s.bind(8, createdAt)
            try s.step()
            return database.changes == 1 ? database.lastInsertRowID : nil
        }
    }

    /// Calls `body` with every event after `watermark`, in sequence order, for
    /// the given lineages (all when nil).
    public func forEachEvent(after watermark: Int64, _ body: (EventRecord) throws -> Void) throws {
        let sql = """
            SELECT id, tenant_id, event_id, decision_id, strategy_id, arm, reward, weight, created_at
            FROM learning_events WHERE id > ? ORDER BY id
            """
        let statement = try database.prepare(sql)
        defer { statement.reset() }
        try statement.bind(1, watermark)
        while try statement.step() {
            let s = statement
            try body(EventRecord(id: s.int64(0), tenantID: s.int64(1), eventID: s.string(2), decisionID: s.uint64(3),
                                 strategyID: s.int64(4), arm: s.int(5), reward: s.double(6), weight: s.double(7),
                                 createdAt: s.int64(8)))
        }
    }

    /// Number of stored events.
    public func eventCount() throws -> Int {
        Int(try database.scalar("SELECT count(*) FROM learning_events"))
    }

    /// The highest event sequence number (0 when there is none).
    public func lastEventID() throws -> Int64 {
        try database.scalar("SELECT coalesce(max(id), 0) FROM learning_events")
    }
}
