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
    public func insertDecision(_ d: DecisionRecord) throws {
        let sql: StaticString = """
            INSERT INTO decisions (id, experiment_id, strategy_id, model_version, applied_through, arm, propensity,
                traffic_share, seed, eligible, context, unit_id, fallback, created_at)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
            """
        try database.with(sql) { s throws(SQLiteError) in
            try s.bind(1, d.id)
            try s.bind(2, d.experimentID)
            try s.bind(3, d.strategyID)
            try s.bind(4, d.modelVersion)
            try s.bind(5, d.appliedThrough)
            try s.bind(6, d.arm)
            try s.bind(7, d.propensity)
            try s.bind(8, d.trafficShare)
            try s.bind(9, d.seed)
            try Packing.withPacked(d.eligible) { bytes in Result { () throws(SQLiteError) in try s.bind(10, bytes: bytes) } }.get()
            try s.bind(11, d.context.map(Packing.pack))
            try s.bind(12, d.unitID)
            try s.bind(13, d.fallback)
            try s.bind(14, d.createdAt)
            try s.step()
        }
    }

    /// Where a logged decision was made (experiment, strategy, arm), or nil
    /// when no such decision was logged. One primary-key lookup.
    public func decisionOrigin(id: UInt64) throws -> (experimentID: Int64, strategyID: Int64, arm: Int)? {
        let sql: StaticString = "SELECT experiment_id, strategy_id, arm FROM decisions WHERE id = ?"
        return try database.with(sql) { s throws(SQLiteError) in
            try s.bind(1, id)
            guard try s.step() else { return nil }
            return (s.int64(0), s.int64(1), s.int(2))
        }
    }

    /// One logged decision, or nil.
    public func decision(id: UInt64) throws -> DecisionRecord? {
        let sql = """
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

    /// Number of logged decisions.
    public func decisionCount() throws -> Int {
        Int(try database.scalar("SELECT count(*) FROM decisions"))
    }
}

/// Little-endian packing of the arrays stored as blobs.
public enum Packing {
    public static func pack(_ values: [UInt32]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 4)
        for value in values {
            withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    /// Calls `body` with the packed bytes of `values`: the array's own memory
    /// on a little-endian machine (no copy, this runs for every decision),
    /// a packed copy elsewhere.
    public static func withPacked<R>(_ values: [UInt32], _ body: (UnsafeRawBufferPointer) -> R) -> R {
        #if _endian(little)
        values.withUnsafeBytes(body)
        #else
        pack(values).withUnsafeBytes(body)
        #endif
    }

    public static func pack(_ values: [Double]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(values.count * 8)
        for value in values {
            withUnsafeBytes(of: value.bitPattern.littleEndian) { bytes.append(contentsOf: $0) }
        }
        return bytes
    }

    public static func unpackArms(_ bytes: [UInt8]) -> [UInt32] {
        stride(from: 0, to: bytes.count - 3, by: 4).map { offset in
            (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[offset + $1]) << (8 * $1) }
        }
    }

    public static func unpackDoubles(_ bytes: [UInt8]) -> [Double] {
        stride(from: 0, to: bytes.count - 7, by: 8).map { offset in
            Double(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[offset + $1]) << (8 * $1) })
        }
    }
}
