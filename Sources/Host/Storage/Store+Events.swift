internal import SQLite

extension Store {
    /// Records that the tenant sent an event with this id; false when it did
    /// before (a duplicate), in which case nothing is written.
    public func claimEventID(tenantID: Int64, eventID: String) throws -> Bool {
        let sql: StaticString = "INSERT INTO event_ids (tenant_id, event_id) VALUES (?, ?) ON CONFLICT DO NOTHING"
        return try database.with(sql) { s throws(SQLiteError) in
            try s.bind(1, tenantID)
            try s.bind(2, eventID)
            try s.step()
            return database.changes == 1
        }
    }

    /// Logs events, given in increasing sequence order above `lastEventID()`,
    /// as blocks of up to `EventBlock.capacity`: one row per block. Their ids
    /// must have been claimed (`claimEventID`) in the same transaction.
    public func insertEvents(_ events: [EventRecord]) throws {
        let sql: StaticString = """
            INSERT INTO event_blocks (first_id, last_id, events, format, created_at, records) VALUES (?, ?, ?, ?, ?, ?)
            """
        var start = events.startIndex
        while start < events.endIndex {
            let end = min(start + EventBlock.capacity, events.endIndex)
            let block = events[start..<end]
            let first = block.first!, last = block.last!
            let records = EventBlock.encode(block, firstID: first.id, createdAt: first.createdAt)
            try database.with(sql) { s throws(SQLiteError) in
                try s.bind(1, first.id)
                try s.bind(2, last.id)
                try s.bind(3, block.count)
                try s.bind(4, EventBlock.format)
                try s.bind(5, first.createdAt)
                try s.bind(6, records)
                try s.step()
            }
            start = end
        }
    }

    /// Calls `body` with every event after `watermark`, in sequence order:
    /// first the rows builds before schema version 4 wrote, then the blocks
    /// (whose sequence numbers continue after those rows).
    public func forEachEvent(after watermark: Int64, _ body: (EventRecord) throws -> Void) throws {
        try forEachEvent(after: watermark, storedFrom: nil, body)
    }

    /// As `forEachEvent(after:_:)`, skipping the blocks stored before
    /// `start` (milliseconds) when it is given: events stored then cannot
    /// be feedback for decisions made at or after `start`.
    public func forEachEvent(after watermark: Int64, storedFrom start: Int64?, _ body: (EventRecord) throws -> Void) throws {
        let legacy = try database.prepare("""
            SELECT id, tenant_id, event_id, decision_id, strategy_id, arm, reward, weight, created_at
            FROM learning_events WHERE id > ? ORDER BY id
            """)
        defer { legacy.reset() }
        try legacy.bind(1, watermark)
        while try legacy.step() {
            let s = legacy
            try body(EventRecord(id: s.int64(0), tenantID: s.int64(1), eventID: s.string(2), decisionID: s.uint64(3),
                                 strategyID: s.int64(4), arm: s.int(5), reward: s.double(6), weight: s.double(7),
                                 createdAt: s.int64(8)))
        }
        let blocks = try database.prepare("""
            SELECT first_id, events, format, created_at, records FROM event_blocks WHERE last_id > ? AND created_at >= ? ORDER BY first_id
            """)
        defer { blocks.reset() }
        try blocks.bind(1, watermark)
        // A block's created_at is its first event's, a flush before its
        // last: the bound is loosened by a minute.
        try blocks.bind(2, start.map { $0 - 60_000 } ?? Int64.min)
        while try blocks.step() {
            let firstID = blocks.int64(0)
            guard let events = EventBlock.decode(blocks.blob(4), format: blocks.int(2), firstID: firstID,
                                                 createdAt: blocks.int64(3), count: blocks.int(1))
            else { throw CorruptBlockError(table: "event_blocks", firstID: firstID) }
            for event in events where event.id > watermark { try body(event) }
        }
    }

    /// Number of stored events.
    public func eventCount() throws -> Int {
        Int(try database.scalar("SELECT (SELECT coalesce(sum(events), 0) FROM event_blocks) + (SELECT count(*) FROM learning_events)"))
    }

    /// The highest event sequence number (0 when there is none).
    public func lastEventID() throws -> Int64 {
        try database.scalar("""
            SELECT max((SELECT coalesce(max(last_id), 0) FROM event_blocks), (SELECT coalesce(max(id), 0) FROM learning_events))
            """)
    }
}
