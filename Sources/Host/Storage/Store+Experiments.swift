internal import SQLite

extension Store {
    // MARK: Tenants

    public func tenants() throws -> [TenantRecord] {
        try database.with("SELECT id, name, default_strategy, default_config, created_at FROM tenants ORDER BY id") { s throws(SQLiteError) in
            var rows: [TenantRecord] = []
            while try s.step() {
                rows.append(TenantRecord(id: s.int64(0), name: s.string(1), defaultStrategy: s.string(2), defaultConfig: s.string(3), createdAt: s.int64(4)))
            }
            return rows
        }
    }

    public func insertTenant(name: String, defaultStrategy: String, defaultConfig: String) throws -> TenantRecord {
        let now = Store.now()
        try database.with("INSERT INTO tenants (name, default_strategy, default_config, created_at) VALUES (?, ?, ?, ?)") { s throws(SQLiteError) in
            try s.bind(1, name)
            try s.bind(2, defaultStrategy)
            try s.bind(3, defaultConfig)
            try s.bind(4, now)
            try s.step()
        }
        return TenantRecord(id: database.lastInsertRowID, name: name, defaultStrategy: defaultStrategy, defaultConfig: defaultConfig, createdAt: now)
    }

    public func updateTenantDefaults(id: Int64, strategy: String, config: String) throws {
        try database.with("UPDATE tenants SET default_strategy = ?, default_config = ? WHERE id = ?") { s throws(SQLiteError) in
            try s.bind(1, strategy)
            try s.bind(2, config)
            try s.bind(3, id)
            try s.step()
        }
    }

    // MARK: Experiments

    public func experiments() throws -> [ExperimentRecord] {
        try database.with("SELECT id, tenant_id, key, assignment, status, created_at, updated_at FROM experiments ORDER BY id") { s throws(SQLiteError) in
            var rows: [ExperimentRecord] = []
            while try s.step() {
                rows.append(ExperimentRecord(
                    id: s.int64(0), tenantID: s.int64(1), key: s.string(2),
                    assignment: Assignment(rawValue: s.string(3)) ?? .random,
                    status: ExperimentStatus(rawValue: s.string(4)) ?? .active,
                    createdAt: s.int64(5), updatedAt: s.int64(6)))
            }
            return rows
        }
    }

    public func insertExperiment(tenantID: Int64, key: String, assignment: Assignment, now: Int64) throws -> ExperimentRecord {
        try database.with("INSERT INTO experiments (tenant_id, key, assignment, status, created_at, updated_at) VALUES (?, ?, ?, 'active', ?, ?)") { s throws(SQLiteError) in
            try s.bind(1, tenantID)
            try s.bind(2, key)
            try s.bind(3, assignment.rawValue)
            try s.bind(4, now)
            try s.bind(5, now)
            try s.step()
        }
        return ExperimentRecord(id: database.lastInsertRowID, tenantID: tenantID, key: key, assignment: assignment,
                                status: .active, createdAt: now, updatedAt: now)
    }

    public func updateExperiment(_ experiment: ExperimentRecord) throws {
        try database.with("UPDATE experiments SET assignment = ?, status = ?, updated_at = ? WHERE id = ?") { s throws(SQLiteError) in
            try s.bind(1, experiment.assignment.rawValue)
            try s.bind(2, experiment.status.rawValue)
            try s.bind(3, experiment.updatedAt)
            try s.bind(4, experiment.id)
            try s.step()
        }
    }

    // MARK: Arms

    /// Arms of every experiment (or of one), ordered by experiment and index.
    public func arms(experimentID: Int64? = nil) throws -> [ArmRecord] {
        let sql = """
            SELECT experiment_id, arm_index, name, created_at, decisions, feedback_count, feedback_weight,
                   reward_sum, reward_squares, last_decision_at, last_feedback_at
            FROM arms \(experimentID == nil ? "" : "WHERE experiment_id = ?") ORDER BY experiment_id, arm_index
            """
        return try database.with(sql) { s throws(SQLiteError) in
            if let experimentID { try s.bind(1, experimentID) }
            var rows: [ArmRecord] = []
            while try s.step() {
                var stats = ArmStats()
                stats.decisions = s.int(4)
                stats.feedbackCount = s.int(5)
                stats.feedbackWeight = s.double(6)
                stats.rewardSum = s.double(7)
                stats.rewardSquares = s.double(8)
                stats.lastDecisionAt = s.isNull(9) ? nil : s.int64(9)
                stats.lastFeedbackAt = s.isNull(10) ? nil : s.int64(10)
                rows.append(ArmRecord(experimentID: s.int64(0), index: s.int(1), name: s.string(2), createdAt: s.int64(3), stats: stats))
            }
            return rows
        }
    }

    /// Inserts arms `names`, numbered from `firstIndex`.
    public func insertArms(experimentID: Int64, firstIndex: Int, names: [String], now: Int64) throws {
        for (offset, name) in names.enumerated() {
            try database.with("INSERT INTO arms (experiment_id, arm_index, name, created_at) VALUES (?, ?, ?, ?)") { s throws(SQLiteError) in
                try s.bind(1, experimentID)
                try s.bind(2, firstIndex + offset)
                try s.bind(3, name)
                try s.bind(4, now)
                try s.step()
            }
        }
    }

    /// Adds decisions to an arm's counters.
    public func addDecisionStats(experimentID: Int64, arm: Int, count: Int, at time: Int64) throws {
        try database.with("UPDATE arms SET decisions = decisions + ?, last_decision_at = max(coalesce(last_decision_at, 0), ?) WHERE experiment_id = ? AND arm_index = ?") { s throws(SQLiteError) in
            try s.bind(1, count)
            try s.bind(2, time)
            try s.bind(3, experimentID)
            try s.bind(4, arm)
            try s.step()
        }
    }

    /// Adds feedback to an arm's counters.
    public func addFeedbackStats(experimentID: Int64, arm: Int, _ stats: ArmStats) throws {
        let sql = """
            UPDATE arms SET feedback_count = feedback_count + ?, feedback_weight = feedback_weight + ?,
                reward_sum = reward_sum + ?, reward_squares = reward_squares + ?,
                last_feedback_at = max(coalesce(last_feedback_at, 0), ?)
            WHERE experiment_id = ? AND arm_index = ?
            """
        try database.with(sql) { s throws(SQLiteError) in
            try s.bind(1, stats.feedbackCount)
            try s.bind(2, stats.feedbackWeight)
            try s.bind(3, stats.rewardSum)
            try s.bind(4, stats.rewardSquares)
            try s.bind(5, stats.lastFeedbackAt ?? 0)
            try s.bind(6, experimentID)
            try s.bind(7, arm)
            try s.step()
        }
    }

    // MARK: Strategies

    public func strategies() throws -> [StrategyRecord] {
        try database.with("SELECT id, experiment_id, name, plugin, config, weight, last_event_id, created_at, updated_at FROM experiment_strategies ORDER BY id") { s throws(SQLiteError) in
            var rows: [StrategyRecord] = []
            while try s.step() {
                rows.append(StrategyRecord(id: s.int64(0), experimentID: s.int64(1), name: s.string(2), plugin: s.string(3),
                                           config: s.string(4), weight: s.double(5), lastEventID: s.int64(6),
                                           createdAt: s.int64(7), updatedAt: s.int64(8)))
            }
            return rows
        }
    }

    public func insertStrategy(experimentID: Int64, name: String, plugin: String, config: String, weight: Double, now: Int64) throws -> StrategyRecord {
        try database.with("INSERT INTO experiment_strategies (experiment_id, name, plugin, config, weight, last_event_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, ?)") { s throws(SQLiteError) in
            try s.bind(1, experimentID)
            try s.bind(2, name)
            try s.bind(3, plugin)
            try s.bind(4, config)
            try s.bind(5, weight)
            try s.bind(6, now)
            try s.bind(7, now)
            try s.step()
        }
        return StrategyRecord(id: database.lastInsertRowID, experimentID: experimentID, name: name, plugin: plugin,
                              config: config, weight: weight, lastEventID: 0, createdAt: now, updatedAt: now)
    }

    public func updateStrategy(id: Int64, config: String, weight: Double, now: Int64) throws {
        try database.with("UPDATE experiment_strategies SET config = ?, weight = ?, updated_at = ? WHERE id = ?") { s throws(SQLiteError) in
            try s.bind(1, config)
            try s.bind(2, weight)
            try s.bind(3, now)
            try s.bind(4, id)
            try s.step()
        }
    }

    /// Records the last learning event committed for a lineage (in the batch's transaction).
    public func setLastEventID(strategyID: Int64, _ eventID: Int64) throws {
        try database.with("UPDATE experiment_strategies SET last_event_id = ? WHERE id = ?") { s throws(SQLiteError) in
            try s.bind(1, eventID)
            try s.bind(2, strategyID)
            try s.step()
        }
    }
}
