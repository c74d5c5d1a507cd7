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

    private static let experimentColumns = "id, tenant_id, key, assignment, status, created_at, updated_at, arm_names"

    private func readExperiment(_ s: Statement) throws -> ExperimentRecord {
        let id = s.int64(0)
        guard let arms = ArmNames.decode(s.string(7)) else { throw CorruptRowError(table: "experiments", id: id) }
        return ExperimentRecord(id: id, tenantID: s.int64(1), key: s.string(2), arms: arms,
                                assignment: Assignment(rawValue: s.string(3)) ?? .random,
                                status: ExperimentStatus(rawValue: s.string(4)) ?? .active,
                                createdAt: s.int64(5), updatedAt: s.int64(6))
    }

    /// Every experiment, oldest first.
    public func experiments() throws -> [ExperimentRecord] {
        let statement = try database.prepare("SELECT \(Self.experimentColumns) FROM experiments ORDER BY id")
        defer { statement.reset() }
        var rows: [ExperimentRecord] = []
        while try statement.step() { rows.append(try readExperiment(statement)) }
        return rows
    }

    /// A page of a tenant's experiments: those with an id above `afterID`, oldest first.
    /// - Parameter containing: only experiments whose key contains it.
    public func experiments(tenantID: Int64, afterID: Int64, limit: Int, containing: String? = nil) throws -> [ExperimentRecord] {
        let statement = try database.prepare("""
            SELECT \(Self.experimentColumns) FROM experiments WHERE tenant_id = ? AND id > ?\(containing == nil ? "" : " AND instr(key, ?) > 0")
            ORDER BY id LIMIT ?
            """)
        defer { statement.reset() }
        try statement.bind(1, tenantID)
        try statement.bind(2, afterID)
        if let containing {
            try statement.bind(3, containing)
            try statement.bind(4, limit)
        } else {
            try statement.bind(3, limit)
        }
        var rows: [ExperimentRecord] = []
        while try statement.step() { rows.append(try readExperiment(statement)) }
        return rows
    }

    /// One experiment.
    public func experiment(id: Int64) throws -> ExperimentRecord? {
        let statement = try database.prepare("SELECT \(Self.experimentColumns) FROM experiments WHERE id = ?")
        defer { statement.reset() }
        try statement.bind(1, id)
        return try statement.step() ? try readExperiment(statement) : nil
    }

    /// Calls `body` with every experiment's id, tenant and key, in id order:
    /// what a restart keeps in memory of experiments that are not loaded.
    public func forEachExperimentKey(_ body: (_ id: Int64, _ tenantID: Int64, _ key: String) throws -> Void) throws {
        let statement = try database.prepare("SELECT id, tenant_id, key FROM experiments ORDER BY id")
        defer { statement.reset() }
        while try statement.step() {
            try body(statement.int64(0), statement.int64(1), statement.string(2))
        }
    }

    /// Writes a new experiment with the id the engine gave it.
    public func insertExperiment(_ experiment: ExperimentRecord) throws {
        let sql: StaticString = """
            INSERT INTO experiments (id, tenant_id, key, assignment, status, created_at, updated_at, arm_names) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
            """
        try database.with(sql) { s throws(SQLiteError) in
            try s.bind(1, experiment.id)
            try s.bind(2, experiment.tenantID)
            try s.bind(3, experiment.key)
            try s.bind(4, experiment.assignment.rawValue)
            try s.bind(5, experiment.status.rawValue)
            try s.bind(6, experiment.createdAt)
            try s.bind(7, experiment.updatedAt)
            try s.bind(8, ArmNames.encode(experiment.arms))
            try s.step()
        }
    }

    /// The highest experiment and strategy ids in use (0 when there is none):
    /// the engine gives new ones from there.
    public func highestIDs() throws -> (experiment: Int64, strategy: Int64) {
        (try database.scalar("SELECT coalesce(max(id), 0) FROM experiments"),
         try database.scalar("SELECT coalesce(max(id), 0) FROM experiment_strategies"))
    }

    /// Writes an experiment's assignment, status, arms and update time.
    public func updateExperiment(_ experiment: ExperimentRecord) throws {
        try database.with("UPDATE experiments SET assignment = ?, status = ?, updated_at = ?, arm_names = ? WHERE id = ?") { s throws(SQLiteError) in
            try s.bind(1, experiment.assignment.rawValue)
            try s.bind(2, experiment.status.rawValue)
            try s.bind(3, experiment.updatedAt)
            try s.bind(4, ArmNames.encode(experiment.arms))
            try s.bind(5, experiment.id)
            try s.step()
        }
    }

    // MARK: Arms

    /// Per-arm figures of one experiment, by arm index (arms without any are absent).
    public func armStats(experimentID: Int64) throws -> [Int: ArmStats] {
        let sql: StaticString = """
            SELECT arm_index, decisions, feedback_count, feedback_weight, reward_sum, reward_squares, last_decision_at, last_feedback_at
            FROM arm_stats WHERE experiment_id = ?
            """
        return try database.with(sql) { s throws(SQLiteError) in
            try s.bind(1, experimentID)
            var rows: [Int: ArmStats] = [:]
            while try s.step() {
                var stats = ArmStats()
                stats.decisions = s.int(1)
                stats.feedbackCount = s.int(2)
                stats.feedbackWeight = s.double(3)
                stats.rewardSum = s.double(4)
                stats.rewardSquares = s.double(5)
                stats.lastDecisionAt = s.isNull(6) ? nil : s.int64(6)
                stats.lastFeedbackAt = s.isNull(7) ? nil : s.int64(7)
                rows[s.int(0)] = stats
            }
            return rows
        }
    }

    /// The arms of one experiment with their figures, in index order.
    public func arms(experimentID: Int64) throws -> [ArmRecord] {
        guard let experiment = try experiment(id: experimentID) else { return [] }
        let stats = try armStats(experimentID: experimentID)
        return experiment.arms.enumerated().map { index, name in
            ArmRecord(experimentID: experimentID, index: index, name: name, stats: stats[index] ?? ArmStats())
        }
    }

    /// The arms of every experiment, ordered by experiment and index.
    public func arms() throws -> [ArmRecord] {
        try experiments().flatMap { try arms(experimentID: $0.id) }
    }

    /// Adds decisions to an arm's figures.
    public func addDecisionStats(experimentID: Int64, arm: Int, count: Int, at time: Int64) throws {
        let sql: StaticString = """
            INSERT INTO arm_stats (experiment_id, arm_index, decisions, last_decision_at) VALUES (?, ?, ?, ?)
            ON CONFLICT (experiment_id, arm_index) DO UPDATE SET decisions = decisions + excluded.decisions,
                last_decision_at = max(coalesce(last_decision_at, 0), excluded.last_decision_at)
            """
        try database.with(sql) { s throws(SQLiteError) in
            try s.bind(1, experimentID)
            try s.bind(2, arm)
            try s.bind(3, count)
            try s.bind(4, time)
            try s.step()
        }
    }

    /// Adds feedback to an arm's figures.
    public func addFeedbackStats(experimentID: Int64, arm: Int, _ stats: ArmStats) throws {
        let sql: StaticString = """
            INSERT INTO arm_stats (experiment_id, arm_index, feedback_count, feedback_weight, reward_sum, reward_squares, last_feedback_at)
            VALUES (?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (experiment_id, arm_index) DO UPDATE SET feedback_count = feedback_count + excluded.feedback_count,
                feedback_weight = feedback_weight + excluded.feedback_weight, reward_sum = reward_sum + excluded.reward_sum,
                reward_squares = reward_squares + excluded.reward_squares,
                last_feedback_at = max(coalesce(last_feedback_at, 0), excluded.last_feedback_at)
            """
        try database.with(sql) { s throws(SQLiteError) in
            try s.bind(1, experimentID)
            try s.bind(2, arm)
            try s.bind(3, stats.feedbackCount)
            try s.bind(4, stats.feedbackWeight)
            try s.bind(5, stats.rewardSum)
            try s.bind(6, stats.rewardSquares)
            try s.bind(7, stats.lastFeedbackAt ?? 0)
            try s.step()
        }
    }

    // MARK: Strategies

    private static let strategyColumns = "id, experiment_id, name, plugin, config, weight, last_event_id, saved_through, created_at, updated_at, plugin_version"

    private func readStrategy(_ s: Statement) -> StrategyRecord {
        StrategyRecord(id: s.int64(0), experimentID: s.int64(1), name: s.string(2), plugin: s.string(3),
                       config: s.string(4), weight: s.double(5), lastEventID: s.int64(6), savedThrough: s.int64(7),
                       createdAt: s.int64(8), updatedAt: s.int64(9), pluginVersion: s.isNull(10) ? nil : s.string(10))
    }

    /// Every strategy of every experiment.
    public func strategies() throws -> [StrategyRecord] {
        try database.with("SELECT \(Self.strategyColumns) FROM experiment_strategies ORDER BY id") { s throws(SQLiteError) in
            var rows: [StrategyRecord] = []
            while try s.step() { rows.append(readStrategy(s)) }
            return rows
        }
    }

    /// The strategies of one experiment, in the order they were added.
    public func strategies(experimentID: Int64) throws -> [StrategyRecord] {
        try database.with("SELECT \(Self.strategyColumns) FROM experiment_strategies WHERE experiment_id = ? ORDER BY id") { s throws(SQLiteError) in
            try s.bind(1, experimentID)
            var rows: [StrategyRecord] = []
            while try s.step() { rows.append(readStrategy(s)) }
            return rows
        }
    }

    /// A page of the tenant's strategies that run `plugin`, by strategy id
    /// above `afterID`, each with its experiment's key.
    public func strategies(tenantID: Int64, plugin: String, afterID: Int64, limit: Int) throws -> [(StrategyRecord, String)] {
        let columns = Self.strategyColumns.split(separator: ", ").map { "s." + $0 }.joined(separator: ", ")
        let sql = """
            SELECT \(columns), e.key FROM experiment_strategies s JOIN experiments e ON e.id = s.experiment_id
            WHERE e.tenant_id = ? AND s.plugin = ? AND s.id > ? ORDER BY s.id LIMIT ?
            """
        return try database.with(sql) { s throws(SQLiteError) in
            try s.bind(1, tenantID)
            try s.bind(2, plugin)
            try s.bind(3, afterID)
            try s.bind(4, limit)
            var rows: [(StrategyRecord, String)] = []
            while try s.step() { rows.append((readStrategy(s), s.string(11))) }
            return rows
        }
    }

    /// Strategies with events committed after their active version: what a
    /// restart replays.
    public func strategiesWithUnsavedEvents() throws -> [StrategyRecord] {
        try database.with("SELECT \(Self.strategyColumns) FROM experiment_strategies WHERE last_event_id > saved_through ORDER BY id") { s throws(SQLiteError) in
            var rows: [StrategyRecord] = []
            while try s.step() { rows.append(readStrategy(s)) }
            return rows
        }
    }

    /// Writes a new strategy with the id the engine gave it.
    public func insertStrategy(_ strategy: StrategyRecord) throws {
        let sql: StaticString = """
            INSERT INTO experiment_strategies (id, experiment_id, name, plugin, config, weight, last_event_id, created_at, updated_at, plugin_version)
            VALUES (?, ?, ?, ?, ?, ?, 0, ?, ?, ?)
            """
        try database.with(sql) { s throws(SQLiteError) in
            try s.bind(1, strategy.id)
            try s.bind(2, strategy.experimentID)
            try s.bind(3, strategy.name)
            try s.bind(4, strategy.plugin)
            try s.bind(5, strategy.config)
            try s.bind(6, strategy.weight)
            try s.bind(7, strategy.createdAt)
            try s.bind(8, strategy.updatedAt)
            try s.bind(9, strategy.pluginVersion)
            try s.step()
        }
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

/// A row that cannot be read back (what it holds is not what was written).
public struct CorruptRowError: Error, CustomStringConvertible {
    public let table: String
    public let id: Int64

    public var description: String { "row \(id) of table \(table) cannot be read: the database is damaged" }
}

extension Store {
    /// The experiment `key` of the tenant named `tenant`, or nil when either is unknown.
    public func experiment(tenant: String, key: String) throws -> ExperimentRecord? {
        let statement = try database.prepare("""
            SELECT \(Self.experimentColumns) FROM experiments
            WHERE tenant_id = (SELECT id FROM tenants WHERE name = ?) AND key = ?
            """)
        defer { statement.reset() }
        try statement.bind(1, tenant)
        try statement.bind(2, key)
        return try statement.step() ? readExperiment(statement) : nil
    }
}
