public import SQLite

/// The database schema, versioned with `PRAGMA user_version`. Each migration
/// moves the schema one version up inside one transaction; a database newer
/// than this build is refused rather than touched. Docs/storage.md describes
/// every table.
public enum Schema {
    /// The version this build writes.
    public static let currentVersion = 9

    /// One step: SQL, or code for what SQL alone cannot do.
    enum Migration: Sendable {
        case sql(String)
        case code(@Sendable (Database) throws -> Void)
    }

    /// Migrations, in order: `migrations[i]` takes the schema from version i to i + 1.
    static let migrations: [Migration] = sqlMigrations.map(Migration.sql) + [.code(moveArmNames), .sql(experimentsByTenant), .code(addReportBuckets), .sql(auditTrail), .sql(kafkaOffsets)]

    /// Version 6: a tenant's experiments in id order without a sort. A page
    /// of the list (`tenant_id = ? AND id > ? ORDER BY id`) otherwise read
    /// every experiment of the tenant through the `(tenant_id, key)` index
    /// and sorted them: 144 ms a page at a million experiments, against
    /// 20 ms at ten thousand. An index on `tenant_id` holds each entry's
    /// rowid in order, so a page is a range of it.
    static let experimentsByTenant = "CREATE INDEX experiments_by_tenant ON experiments (tenant_id)"


    /// Version 7, for the A/B report: running figures per experiment,
    /// strategy, arm and hour (decisions by the hour they were made, feedback
    /// by the hour it arrived), so that a report sums a few rows per hour
    /// instead of scanning the logs. Filled from the logs already stored.
    /// And `experiment_changes`, the changes no model version records.
    static func addReportBuckets(_ database: Database) throws {
        try database.execute("""
            CREATE TABLE report_buckets (
                experiment_id INTEGER NOT NULL,
                strategy_id INTEGER NOT NULL,
                arm_index INTEGER NOT NULL,
                hour INTEGER NOT NULL,
                decisions INTEGER NOT NULL DEFAULT 0,
                feedback_count INTEGER NOT NULL DEFAULT 0,
                feedback_weight REAL NOT NULL DEFAULT 0,
                reward_sum REAL NOT NULL DEFAULT 0,
                reward_squares REAL NOT NULL DEFAULT 0,
                PRIMARY KEY (experiment_id, strategy_id, arm_index, hour)
            ) WITHOUT ROWID
            """)
        // What changed in an experiment that no version records (weights,
        // arms, assignment, status), for the report's timeline.
        try database.execute("""
            CREATE TABLE experiment_changes (
                id INTEGER PRIMARY KEY,
                experiment_id INTEGER NOT NULL,
                at INTEGER NOT NULL,
                kind TEXT NOT NULL,
                strategy TEXT,
                detail TEXT NOT NULL,
                actor TEXT
            );
            CREATE INDEX experiment_changes_by_experiment ON experiment_changes (experiment_id, at)
            """)
        try ReportBucketBackfill(database: database).run()
    }

    /// Version 8: the audit trail, every change to an experiment, a tenant's
    /// defaults or the plugins: when, by which API key (its id), what before
    /// and what after (JSON). Kept for good, like the versions. And the
    /// plugin version a strategy may be pinned to (a canary).
    static let auditTrail = """
        CREATE TABLE audit_trail (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            actor TEXT,
            tenant_id INTEGER,
            experiment_id INTEGER,
            subject TEXT NOT NULL,
            action TEXT NOT NULL,
            before TEXT,
            after TEXT
        );
        CREATE INDEX audit_trail_by_experiment ON audit_trail (experiment_id, id) WHERE experiment_id IS NOT NULL;
        CREATE INDEX audit_trail_by_tenant ON audit_trail (tenant_id, id);
        ALTER TABLE experiment_strategies ADD COLUMN plugin_version TEXT
        """

    /// Version 9: the Kafka offsets consumed, per topic and partition, the
    /// next offset to read, written in the same transaction as the feedback
    /// batch the messages before it went into: what makes a restart apply
    /// every message exactly once.
    static let kafkaOffsets = """
        CREATE TABLE kafka_offsets (
            topic TEXT NOT NULL,
            partition INTEGER NOT NULL,
            next_offset INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            PRIMARY KEY (topic, partition)
        ) WITHOUT ROWID
        """

    /// The migrations that are SQL alone (versions 1 to 4).
    static let sqlMigrations: [String] = [
        """
        CREATE TABLE meta (
            key TEXT PRIMARY KEY,
            value TEXT NOT NULL
        ) WITHOUT ROWID;

        CREATE TABLE tenants (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            default_strategy TEXT NOT NULL DEFAULT 'thompson',
            default_config TEXT NOT NULL DEFAULT '{}',
            created_at INTEGER NOT NULL
        );

        CREATE TABLE experiments (
            id INTEGER PRIMARY KEY,
            tenant_id INTEGER NOT NULL REFERENCES tenants(id),
            key TEXT NOT NULL,
            assignment TEXT NOT NULL DEFAULT 'random' CHECK (assignment IN ('random', 'sticky')),
            status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'archived')),
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            UNIQUE (tenant_id, key)
        );

        CREATE TABLE arms (
            experiment_id INTEGER NOT NULL REFERENCES experiments(id),
            arm_index INTEGER NOT NULL,
            name TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            decisions INTEGER NOT NULL DEFAULT 0,
            feedback_count INTEGER NOT NULL DEFAULT 0,
            feedback_weight REAL NOT NULL DEFAULT 0,
            reward_sum REAL NOT NULL DEFAULT 0,
            reward_squares REAL NOT NULL DEFAULT 0,
            last_decision_at INTEGER,
            last_feedback_at INTEGER,
            PRIMARY KEY (experiment_id, arm_index),
            UNIQUE (experiment_id, name)
        ) WITHOUT ROWID;

        CREATE TABLE experiment_strategies (
            id INTEGER PRIMARY KEY,
            experiment_id INTEGER NOT NULL REFERENCES experiments(id),
            name TEXT NOT NULL,
            plugin TEXT NOT NULL,
            config TEXT NOT NULL,
            weight REAL NOT NULL CHECK (weight >= 0),
            last_event_id INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            UNIQUE (experiment_id, name)
        );

        CREATE TABLE decisions (
            id INTEGER PRIMARY KEY,
            experiment_id INTEGER NOT NULL,
            strategy_id INTEGER NOT NULL,
            model_version INTEGER NOT NULL,
            applied_through INTEGER NOT NULL,
            arm INTEGER NOT NULL,
            propensity REAL NOT NULL,
            traffic_share REAL NOT NULL,
            seed INTEGER NOT NULL,
            eligible BLOB NOT NULL,
            context BLOB,
            unit_id TEXT,
            fallback TEXT,
            created_at INTEGER NOT NULL
        );

        CREATE TABLE learning_events (
            id INTEGER PRIMARY KEY,
            tenant_id INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            decision_id INTEGER NOT NULL,
            strategy_id INTEGER NOT NULL,
            arm INTEGER NOT NULL,
            reward REAL NOT NULL,
            weight REAL NOT NULL,
            created_at INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX learning_events_by_event_id ON learning_events (tenant_id, event_id);

        CREATE TABLE model_versions (
            id INTEGER PRIMARY KEY,
            strategy_id INTEGER NOT NULL REFERENCES experiment_strategies(id),
            version INTEGER NOT NULL,
            state BLOB NOT NULL,
            state_format_version INTEGER NOT NULL,
            plugin_name TEXT NOT NULL,
            plugin_version TEXT NOT NULL,
            config TEXT NOT NULL,
            watermark INTEGER NOT NULL,
            checksum TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('candidate', 'active', 'archived', 'rolled_back')),
            reason TEXT NOT NULL,
            restored_from INTEGER,
            created_at INTEGER NOT NULL,
            UNIQUE (strategy_id, version)
        );
        """,
        """
        CREATE TABLE api_keys (
            id TEXT PRIMARY KEY,
            tenant_id INTEGER NOT NULL REFERENCES tenants(id),
            secret_hash TEXT NOT NULL,
            admin INTEGER NOT NULL CHECK (admin IN (0, 1)),
            label TEXT,
            created_at INTEGER NOT NULL,
            revoked_at INTEGER
        ) WITHOUT ROWID;
        """,
        // The decision log becomes blocks of packed decisions (DecisionBlock);
        // the decisions table keeps what older builds logged and is only read.
        """
        CREATE TABLE decision_blocks (
            first_id INTEGER PRIMARY KEY,
            last_id INTEGER NOT NULL CHECK (last_id >= first_id),
            decisions INTEGER NOT NULL CHECK (decisions > 0),
            format INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            records BLOB NOT NULL
        );
        """,
        // The event log becomes blocks of packed events (EventBlock); event ids
        // move to a table of their own, which detects duplicates. The rows of
        // learning_events stay, read only, and keep their sequence numbers.
        """
        CREATE TABLE event_ids (
            tenant_id INTEGER NOT NULL,
            event_id TEXT NOT NULL,
            PRIMARY KEY (tenant_id, event_id)
        ) WITHOUT ROWID;
        INSERT INTO event_ids (tenant_id, event_id) SELECT tenant_id, event_id FROM learning_events;
        DROP INDEX learning_events_by_event_id;

        CREATE TABLE event_blocks (
            first_id INTEGER PRIMARY KEY,
            last_id INTEGER NOT NULL CHECK (last_id >= first_id),
            events INTEGER NOT NULL CHECK (events > 0),
            format INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            records BLOB NOT NULL
        );
        """,
    ]

    /// Version 5, for many experiments. Arm names move into their
    /// experiment's row (`arm_names`, a JSON array in index order): creating
    /// an experiment writes one row, not one per arm. Per-arm figures move to
    /// `arm_stats`, a row only for an arm that has some. Each strategy records
    /// the watermark of its active version (`saved_through`), so a restart
    /// finds the strategies with events to replay without reading a version.
    static func moveArmNames(_ database: Database) throws {
        try database.execute("ALTER TABLE experiments ADD COLUMN arm_names TEXT NOT NULL DEFAULT '[]'")
        var names: [Int64: [String]] = [:]
        try database.with("SELECT experiment_id, name FROM arms ORDER BY experiment_id, arm_index") { s throws(SQLiteError) in
            while try s.step() { names[s.int64(0), default: []].append(s.string(1)) }
        }
        for (experiment, arms) in names {
            try database.with("UPDATE experiments SET arm_names = ? WHERE id = ?") { s throws(SQLiteError) in
                try s.bind(1, ArmNames.encode(arms))
                try s.bind(2, experiment)
                try s.step()
            }
        }
        try database.execute("""
            CREATE TABLE arm_stats (
                experiment_id INTEGER NOT NULL,
                arm_index INTEGER NOT NULL,
                decisions INTEGER NOT NULL DEFAULT 0,
                feedback_count INTEGER NOT NULL DEFAULT 0,
                feedback_weight REAL NOT NULL DEFAULT 0,
                reward_sum REAL NOT NULL DEFAULT 0,
                reward_squares REAL NOT NULL DEFAULT 0,
                last_decision_at INTEGER,
                last_feedback_at INTEGER,
                PRIMARY KEY (experiment_id, arm_index)
            ) WITHOUT ROWID;
            INSERT INTO arm_stats SELECT experiment_id, arm_index, decisions, feedback_count, feedback_weight, reward_sum,
                reward_squares, last_decision_at, last_feedback_at FROM arms WHERE decisions > 0 OR feedback_count > 0;
            DROP TABLE arms;
            ALTER TABLE experiment_strategies ADD COLUMN saved_through INTEGER NOT NULL DEFAULT 0;
            UPDATE experiment_strategies SET saved_through = coalesce((
                SELECT watermark FROM model_versions m WHERE m.strategy_id = experiment_strategies.id AND m.status = 'active'
                ORDER BY version DESC LIMIT 1), 0);
            """)
    }

    /// Brings `database` to `currentVersion`.
    /// - Throws: `SchemaError.newerThanBuild` for a database written by a newer build.
    public static func migrate(_ database: Database) throws {
        let version = Int(try database.scalar("PRAGMA user_version"))
        guard version <= currentVersion else { throw SchemaError.newerThanBuild(found: version, supported: currentVersion) }
        for target in version..<currentVersion {
            try database.transaction {
                switch migrations[target] {
                case let .sql(text): try database.execute(text)
                case let .code(step): try step(database)
                }
                try database.execute("PRAGMA user_version = \(target + 1)")
            }
        }
    }
}

/// A schema the build cannot use.
public enum SchemaError: Error, CustomStringConvertible {
    case newerThanBuild(found: Int, supported: Int)

    public var description: String {
        switch self {
        case let .newerThanBuild(found, supported):
            "the database has schema version \(found), newer than this build's \(supported): upgrade Arbiter"
        }
    }
}
