internal import SQLite

extension Store {
    private static let versionColumns = """
        id, strategy_id, version, state, state_format_version, plugin_name, plugin_version, config, watermark,
        checksum, status, reason, restored_from, created_at
        """

    private func readVersion(_ s: Statement) -> ModelVersionRecord {
        ModelVersionRecord(
            id: s.int64(0), strategyID: s.int64(1), version: s.int(2), state: s.blob(3), stateFormatVersion: s.int(4),
            pluginName: s.string(5), pluginVersion: s.string(6), config: s.string(7), watermark: s.int64(8),
            checksum: s.string(9), status: VersionStatus(rawValue: s.string(10)) ?? .archived,
            reason: VersionReason(rawValue: s.string(11)) ?? .periodic,
            restoredFrom: s.isNull(12) ? nil : s.int(12), createdAt: s.int64(13))
    }

    /// Writes a new version of a lineage, numbered after the last one. When its
    /// status is `active`, the previously active version becomes `archived`.
    public func insertVersion(strategyID: Int64, state: [UInt8], stateFormatVersion: Int, pluginName: String,
                              pluginVersion: String, config: String, watermark: Int64, status: VersionStatus,
                              reason: VersionReason, restoredFrom: Int? = nil) throws -> ModelVersionRecord {
        let number = Int(try database.with("SELECT coalesce(max(version), 0) + 1 FROM model_versions WHERE strategy_id = ?") { s throws(SQLiteError) in
            try s.bind(1, strategyID)
            try s.step()
            return s.int64(0)
        })
        if status == .active {
            try database.with("UPDATE model_versions SET status = 'archived' WHERE strategy_id = ? AND status = 'active'") { s throws(SQLiteError) in
                try s.bind(1, strategyID)
                try s.step()
            }
        }
        let record = ModelVersionRecord(
            id: 0, strategyID: strategyID, version: number, state: state, stateFormatVersion: stateFormatVersion,
            pluginName: pluginName, pluginVersion: pluginVersion, config: config, watermark: watermark,
            checksum: stateChecksum(state), status: status, reason: reason, restoredFrom: restoredFrom, createdAt: Store.now())
        let sql = "INSERT INTO model_versions (\(Self.versionColumns)) VALUES (NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        try database.with(sql) { s throws(SQLiteError) in
            try s.bind(1, record.strategyID)
            try s.bind(2, record.version)
            try s.bind(3, record.state)
            try s.bind(4, record.stateFormatVersion)
            try s.bind(5, record.pluginName)
            try s.bind(6, record.pluginVersion)
            try s.bind(7, record.config)
            try s.bind(8, record.watermark)
            try s.bind(9, record.checksum)
            try s.bind(10, record.status.rawValue)
            try s.bind(11, record.reason.rawValue)
            try s.bind(12, record.restoredFrom.map(Int64.init))
            try s.bind(13, record.createdAt)
            try s.step()
        }
        var inserted = record
        inserted.id = database.lastInsertRowID
        if status == .active {
            try database.with("UPDATE experiment_strategies SET saved_through = ? WHERE id = ?") { s throws(SQLiteError) in
                try s.bind(1, watermark)
                try s.bind(2, strategyID)
                try s.step()
            }
        }
        return inserted
    }

    /// Marks versions of a lineage numbered above `version` as rolled back.
    public func markRolledBack(strategyID: Int64, after version: Int) throws {
        try database.with("UPDATE model_versions SET status = 'rolled_back' WHERE strategy_id = ? AND version > ? AND status IN ('active', 'archived')") { s throws(SQLiteError) in
            try s.bind(1, strategyID)
            try s.bind(2, version)
            try s.step()
        }
    }

    /// The active version of a lineage, with its state.
    public func activeVersion(strategyID: Int64) throws -> ModelVersionRecord? {
        try database.with("SELECT \(Self.versionColumns) FROM model_versions WHERE strategy_id = ? AND status = 'active' ORDER BY version DESC LIMIT 1") { s throws(SQLiteError) in
            try s.bind(1, strategyID)
            return try s.step() ? readVersion(s) : nil
        }
    }

    /// One version of a lineage, with its state.
    public func version(strategyID: Int64, number: Int) throws -> ModelVersionRecord? {
        try database.with("SELECT \(Self.versionColumns) FROM model_versions WHERE strategy_id = ? AND version = ?") { s throws(SQLiteError) in
            try s.bind(1, strategyID)
            try s.bind(2, number)
            return try s.step() ? readVersion(s) : nil
        }
    }

    /// A lineage's versions numbered below `below`, newest first, at most `limit`.
    public func versions(strategyID: Int64, below: Int, limit: Int) throws -> [ModelVersionRecord] {
        try database.with("SELECT \(Self.versionColumns) FROM model_versions WHERE strategy_id = ? AND version < ? ORDER BY version DESC LIMIT ?") { s throws(SQLiteError) in
            try s.bind(1, strategyID)
            try s.bind(2, below)
            try s.bind(3, limit)
            var rows: [ModelVersionRecord] = []
            while try s.step() { rows.append(readVersion(s)) }
            return rows
        }
    }

    /// Every version of a lineage, newest first.
    public func versions(strategyID: Int64) throws -> [ModelVersionRecord] {
        try database.with("SELECT \(Self.versionColumns) FROM model_versions WHERE strategy_id = ? ORDER BY version DESC") { s throws(SQLiteError) in
            try s.bind(1, strategyID)
            var rows: [ModelVersionRecord] = []
            while try s.step() { rows.append(readVersion(s)) }
            return rows
        }
    }
}

extension Store {
    /// The number of a lineage's active version (0 when it has none).
    public func activeVersionNumber(strategyID: Int64) throws -> Int {
        try database.with("SELECT coalesce(max(version), 0) FROM model_versions WHERE strategy_id = ? AND status = 'active'") { s throws(SQLiteError) in
            try s.bind(1, strategyID)
            try s.step()
            return s.int(0)
        }
    }

    /// The configurations the strategies running `plugin` have, each once.
    public func distinctConfigs(plugin: String) throws -> [String] {
        try database.with("SELECT DISTINCT config FROM experiment_strategies WHERE plugin = ? ORDER BY config") { s throws(SQLiteError) in
            try s.bind(1, plugin)
            var configs: [String] = []
            while try s.step() { configs.append(s.string(0)) }
            return configs
        }
    }

    /// One active version of `plugin` per state format version, among the
    /// strategies not in `excluded` (those in memory, checked on their own):
    /// what a new plugin version must be able to read.
    public func activeStateSamples(plugin: String, excluding excluded: Set<Int64>) throws -> [ModelVersionRecord] {
        // Ids first (no state read), the chosen versions whole after.
        var chosen: [Int: Int64] = [:]
        try database.with("SELECT id, state_format_version, strategy_id FROM model_versions WHERE plugin_name = ? AND status = 'active'") { s throws(SQLiteError) in
            try s.bind(1, plugin)
            while try s.step() {
                let format = s.int(1)
                guard chosen[format] == nil, !excluded.contains(s.int64(2)) else { continue }
                chosen[format] = s.int64(0)
            }
        }
        return try chosen.keys.sorted().compactMap { format in
            try database.with("SELECT \(Self.versionColumns) FROM model_versions WHERE id = ?") { s throws(SQLiteError) in
                try s.bind(1, chosen[format]!)
                return try s.step() ? readVersion(s) : nil
            }
        }
    }
}
