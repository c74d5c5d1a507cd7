internal import SQLite

/// Where a logged decision came from: enough to route its feedback.
public struct DecisionRoute: Sendable, Equatable {
    public var tenantID: Int64
    public var experimentID: Int64
    public var strategyID: Int64
    public var arm: Int

    public init(tenantID: Int64, experimentID: Int64, strategyID: Int64, arm: Int) {
        self.tenantID = tenantID
        self.experimentID = experimentID
        self.strategyID = strategyID
        self.arm = arm
    }
}

extension Store {
    /// Logs decisions, given in increasing id order, as blocks of up to
    /// `DecisionBlock.capacity`: one row per block. Ids of one call must not
    /// fall inside a block logged before (the write pipeline issues ids in
    /// the order it logs them, so blocks never overlap).
    public func insertDecisions(_ decisions: [DecisionRecord]) throws {
        let sql: StaticString = """
            INSERT INTO decision_blocks (first_id, last_id, decisions, format, created_at, records)
            VALUES (?, ?, ?, ?, ?, ?)
            """
        var start = decisions.startIndex
        while start < decisions.endIndex {
            let end = min(start + DecisionBlock.capacity, decisions.endIndex)
            let block = decisions[start..<end]
            let first = block.first!, last = block.last!
            let records = DecisionBlock.encode(block, firstID: first.id, createdAt: first.createdAt)
            try database.with(sql) { s throws(SQLiteError) in
                try s.bind(1, first.id)
                try s.bind(2, last.id)
                try s.bind(3, block.count)
                try s.bind(4, DecisionBlock.format)
                try s.bind(5, first.createdAt)
                try s.bind(6, records)
                try s.step()
            }
            start = end
        }
    }

    /// Where the decision `id` was made, with the origins of the decisions
    /// logged beside it (its whole block: feedback for one tends to come with
    /// feedback for its neighbours); empty when no such decision was logged.
    public func decisionOrigins(around id: UInt64) throws -> [DecisionOrigin] {
        if let block = try block(containing: id) {
            return DecisionBlock.origins(block.records, format: block.format, firstID: block.firstID, count: block.count) ?? []
        }
        return try legacyDecision(id: id).map { [DecisionOrigin(id: $0.id, experimentID: $0.experimentID, strategyID: $0.strategyID, arm: $0.arm)] } ?? []
    }

    /// One logged decision, or nil. One primary-key lookup for its block and
    /// a scan of that block (at most `DecisionBlock.capacity` records), or a
    /// lookup in the rows older builds wrote.
    public func decision(id: UInt64) throws -> DecisionRecord? {
        if let block = try block(containing: id) {
            return DecisionBlock.find(id, in: block.records, format: block.format, firstID: block.firstID, createdAt: block.createdAt)
        }
        return try legacyDecision(id: id)
    }

    /// A row of `decision_blocks`.
    private struct StoredBlock {
        var firstID: UInt64
        var count: Int
        var format: Int
        var createdAt: Int64
        var records: [UInt8]
    }

    /// The block whose id range holds `id` (blocks never overlap, so it is the
    /// one with the greatest first id not above `id`), or nil.
    private func block(containing id: UInt64) throws -> StoredBlock? {
        let sql: StaticString = """
            SELECT first_id, last_id, decisions, format, created_at, records FROM decision_blocks
            WHERE first_id <= ? ORDER BY first_id DESC LIMIT 1
            """
        return try database.with(sql) { s throws(SQLiteError) in
            try s.bind(1, id)
            guard try s.step(), id <= s.uint64(1) else { return nil }
            return StoredBlock(firstID: s.uint64(0), count: s.int(2), format: s.int(3), createdAt: s.int64(4), records: s.blob(5))
        }
    }

    /// A decision logged as a row by a build before schema version 3.
    private func legacyDecision(id: UInt64) throws -> DecisionRecord? {
        let sql: StaticString = """
            SELECT id, experiment_id, strategy_id, model_version, applied_through, arm, propensity, traffic_share,
                   seed, eligible, context, unit_id, fallback, created_at
            FROM decisions WHERE id = ?
            """
        return try database.with(sql) { s throws(SQLiteError) in
            try s.bind(1, id)
            guard try s.step() else { return nil }
            return DecisionRecord(
                id: s.uint64(0), experimentID: s.int64(1), strategyID: s.int64(2), modelVersion: s.int(3),
                appliedThrough: s.int64(4), arm: s.int(5), propensity: s.double(6), trafficShare: s.double(7),
                seed: s.uint64(8), eligible: Packing.unpackArms(s.blob(9)), context: s.optionalBlob(10).map(Packing.unpackDoubles),
                unitID: s.optionalString(11), fallback: s.optionalString(12), createdAt: s.int64(13))
        }
    }

    /// Calls `body` with every logged decision of one experiment made from
    /// `start` (inclusive) to `end` (exclusive, milliseconds), in id order:
    /// the rows builds before schema 3 wrote, then every block (a block's
    /// decisions are of many experiments, so all of them are read). A block
    /// that does not decode is corruption and throws.
    public func forEachDecision(experimentID: Int64, from start: Int64? = nil, to end: Int64? = nil,
                                _ body: (DecisionRecord) throws -> Void) throws {
        try forEachDecision(of: experimentID, from: start, to: end, body)
    }

    /// Every logged decision of every experiment, in id order.
    func forEachStoredDecision(_ body: (DecisionRecord) throws -> Void) throws {
        try forEachDecision(of: nil, from: nil, to: nil, body)
    }

    private func forEachDecision(of experimentID: Int64?, from start: Int64?, to end: Int64?,
                                 _ body: (DecisionRecord) throws -> Void) throws {
        let (low, high) = (start ?? Int64.min, end ?? Int64.max)
        let legacy = try database.prepare("""
            SELECT id FROM decisions WHERE (?1 IS NULL OR experiment_id = ?1) AND created_at >= ?2 AND created_at < ?3 ORDER BY id
            """)
        defer { legacy.reset() }
        if let experimentID { try legacy.bind(1, experimentID) } else { try legacy.bindNull(1) }
        try legacy.bind(2, low)
        try legacy.bind(3, high)
        var legacyIDs: [UInt64] = []
        while try legacy.step() { legacyIDs.append(legacy.uint64(0)) }
        for id in legacyIDs { if let decision = try legacyDecision(id: id) { try body(decision) } }
        // A block's created_at is its first decision's: blocks that begin at
        // or after `end` hold nothing before it.
        let blocks = try database.prepare("""
            SELECT first_id, decisions, format, created_at, records FROM decision_blocks WHERE created_at < ? ORDER BY first_id
            """)
        defer { blocks.reset() }
        try blocks.bind(1, high)
        while try blocks.step() {
            let firstID = blocks.uint64(0)
            guard let decisions = DecisionBlock.decode(blocks.blob(4), format: blocks.int(2), firstID: firstID,
                                                       createdAt: blocks.int64(3), count: blocks.int(1))
            else { throw CorruptBlockError(table: "decision_blocks", firstID: Int64(firstID)) }
            for decision in decisions
            where experimentID.map({ decision.experimentID == $0 }) ?? true && decision.createdAt >= low && decision.createdAt < high {
                try body(decision)
            }
        }
    }

    /// Number of logged decisions.
    public func decisionCount() throws -> Int {
        Int(try database.scalar("SELECT (SELECT coalesce(sum(decisions), 0) FROM decision_blocks) + (SELECT count(*) FROM decisions)"))
    }
}

/// The little-endian arrays of the rows older builds logged (`decisions`).
enum Packing {
    static func unpackArms(_ bytes: [UInt8]) -> [UInt32] {
        stride(from: 0, to: bytes.count - 3, by: 4).map { offset in
            (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
        }
    }

    static func unpackDoubles(_ bytes: [UInt8]) -> [Double] {
        stride(from: 0, to: bytes.count - 7, by: 8).map { offset in
            Double(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) })
        }
    }
}
