internal import SQLite

/// One row of `report_buckets`: what one strategy of an experiment did with
/// one arm in one hour.
public struct ReportBucket: Sendable, Equatable {
    public var strategyID: Int64
    public var arm: Int
    /// Hours since the epoch.
    public var hour: Int64
    public var decisions: Int = 0
    public var feedbackCount: Int = 0
    public var feedbackWeight: Double = 0
    public var rewardSum: Double = 0
    public var rewardSquares: Double = 0

    public init(strategyID: Int64, arm: Int, hour: Int64) {
        self.strategyID = strategyID
        self.arm = arm
        self.hour = hour
    }

    /// The hour of a time in milliseconds since the epoch.
    public static func hour(of milliseconds: Int64) -> Int64 {
        milliseconds >= 0 ? milliseconds / 3_600_000 : (milliseconds - 3_599_999) / 3_600_000
    }

    /// Counts one piece of feedback.
    public mutating func add(reward: Double, weight: Double) {
        feedbackCount += 1
        feedbackWeight += weight
        rewardSum += weight * reward
        rewardSquares += weight * reward * reward
    }
}

/// A change to an experiment that no model version records: a strategy's
/// weight, arms added, the assignment, the status.
public struct ExperimentChangeRecord: Sendable, Equatable {
    public var experimentID: Int64
    public var at: Int64
    /// weight, arms_added, assignment, status.
    public var kind: String
    public var strategy: String?
    public var detail: String
    /// The id of the API key that made the change (never its secret); nil
    /// for the host's own changes.
    public var actor: String?

    public init(experimentID: Int64, at: Int64, kind: String, strategy: String? = nil, detail: String, actor: String? = nil) {
        self.experimentID = experimentID
        self.at = at
        self.kind = kind
        self.strategy = strategy
        self.detail = detail
        self.actor = actor
    }
}

extension Store {
    public func insertChange(_ change: ExperimentChangeRecord) throws {
        try database.with("INSERT INTO experiment_changes (experiment_id, at, kind, strategy, detail, actor) VALUES (?, ?, ?, ?, ?, ?)") { s throws(SQLiteError) in
            try s.bind(1, change.experimentID)
            try s.bind(2, change.at)
            try s.bind(3, change.kind)
            try s.bind(4, change.strategy)
            try s.bind(5, change.detail)
            try s.bind(6, change.actor)
            try s.step()
        }
    }

    /// The recorded changes of one experiment, oldest first.
    public func changes(experimentID: Int64) throws -> [ExperimentChangeRecord] {
        try database.with("SELECT at, kind, strategy, detail, actor FROM experiment_changes WHERE experiment_id = ? ORDER BY at, id") { s throws(SQLiteError) in
            try s.bind(1, experimentID)
            var rows: [ExperimentChangeRecord] = []
            while try s.step() {
                rows.append(ExperimentChangeRecord(experimentID: experimentID, at: s.int64(0), kind: s.string(1),
                                                   strategy: s.optionalString(2), detail: s.string(3), actor: s.optionalString(4)))
            }
            return rows
        }
    }

    /// Adds a batch's figures to the buckets.
    public func addReportBuckets(experimentID: Int64, _ bucket: ReportBucket) throws {
        try database.addReportBucket(experimentID: experimentID, bucket)
    }

    /// Every bucket of one experiment, by strategy, arm and hour.
    public func reportBuckets(experimentID: Int64) throws -> [ReportBucket] {
        try database.with("""
            SELECT strategy_id, arm_index, hour, decisions, feedback_count, feedback_weight, reward_sum, reward_squares
            FROM report_buckets WHERE experiment_id = ? ORDER BY strategy_id, arm_index, hour
            """) { s throws(SQLiteError) in
            try s.bind(1, experimentID)
            var rows: [ReportBucket] = []
            while try s.step() {
                var bucket = ReportBucket(strategyID: s.int64(0), arm: s.int(1), hour: s.int64(2))
                bucket.decisions = s.int(3)
                bucket.feedbackCount = s.int(4)
                bucket.feedbackWeight = s.double(5)
                bucket.rewardSum = s.double(6)
                bucket.rewardSquares = s.double(7)
                rows.append(bucket)
            }
            return rows
        }
    }
}

extension Database {
    func addReportBucket(experimentID: Int64, _ bucket: ReportBucket) throws {
        let sql: StaticString = """
            INSERT INTO report_buckets (experiment_id, strategy_id, arm_index, hour, decisions, feedback_count, feedback_weight,
                reward_sum, reward_squares) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
            ON CONFLICT (experiment_id, strategy_id, arm_index, hour) DO UPDATE SET decisions = decisions + excluded.decisions,
                feedback_count = feedback_count + excluded.feedback_count, feedback_weight = feedback_weight + excluded.feedback_weight,
                reward_sum = reward_sum + excluded.reward_sum, reward_squares = reward_squares + excluded.reward_squares
            """
        try with(sql) { s throws(SQLiteError) in
            try s.bind(1, experimentID)
            try s.bind(2, bucket.strategyID)
            try s.bind(3, bucket.arm)
            try s.bind(4, bucket.hour)
            try s.bind(5, bucket.decisions)
            try s.bind(6, bucket.feedbackCount)
            try s.bind(7, bucket.feedbackWeight)
            try s.bind(8, bucket.rewardSum)
            try s.bind(9, bucket.rewardSquares)
            try s.step()
        }
    }
}

/// Fills `report_buckets` from the decisions and events already logged
/// (schema 7's migration), in one pass over each log.
struct ReportBucketBackfill {
    let database: Database

    struct Key: Hashable {
        var experimentID: Int64
        var bucket: BucketKey
    }

    struct BucketKey: Hashable {
        var strategyID: Int64
        var arm: Int
        var hour: Int64
    }

    func run() throws {
        let store = Store(database: database)
        var buckets: [Key: ReportBucket] = [:]
        var experiments: [Int64: Int64] = [:]  // strategy id -> experiment id
        // A query of its own: a migration reads the schema of its version,
        // not the columns later versions add.
        try database.with("SELECT id, experiment_id FROM experiment_strategies") { s throws(SQLiteError) in
            while try s.step() { experiments[s.int64(0)] = s.int64(1) }
        }
        func bucket(_ experiment: Int64, _ strategy: Int64, _ arm: Int, _ time: Int64) -> Key {
            Key(experimentID: experiment, bucket: BucketKey(strategyID: strategy, arm: arm, hour: ReportBucket.hour(of: time)))
        }
        try store.forEachStoredDecision { decision in
            let key = bucket(decision.experimentID, decision.strategyID, decision.arm, decision.createdAt)
            buckets[key, default: ReportBucket(strategyID: key.bucket.strategyID, arm: key.bucket.arm, hour: key.bucket.hour)].decisions += 1
        }
        try store.forEachEvent(after: 0) { event in
            guard let experiment = experiments[event.strategyID] else { return }
            let key = bucket(experiment, event.strategyID, event.arm, event.createdAt)
            buckets[key, default: ReportBucket(strategyID: key.bucket.strategyID, arm: key.bucket.arm, hour: key.bucket.hour)]
                .add(reward: event.reward, weight: event.weight)
        }
        for (key, value) in buckets { try database.addReportBucket(experimentID: key.experimentID, value) }
    }
}
