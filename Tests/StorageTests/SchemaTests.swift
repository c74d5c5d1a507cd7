import Foundation
import SQLite
@testable import Storage
import Testing
import TestSupport

@Suite("Schema migrations")
struct SchemaTests {
    @Test("a database of an earlier version is migrated in place and keeps what it held")
    func fromVersion2() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("old.sqlite")
        do {
            // A database as a build of schema version 2 left it, with a decision logged as a row.
            let database = try Database(path: path)
            for migration in Schema.sqlMigrations.prefix(2) { try database.execute(migration) }
            try database.execute("PRAGMA user_version = 2")
            try database.execute("""
                INSERT INTO decisions (id, experiment_id, strategy_id, model_version, applied_through, arm, propensity,
                    traffic_share, seed, eligible, context, unit_id, fallback, created_at)
                VALUES (4398046511105, 1, 1, 0, 0, 2, 0.25, 1.0, 42, X'000000000100000002000000', NULL, NULL, NULL, 7)
                """)
        }
        let store = try Store(path: path)
        #expect(try store.database.scalar("PRAGMA user_version") == Int64(Schema.currentVersion))
        let old = try #require(try store.decision(id: 4_398_046_511_105))
        #expect(old.arm == 2 && old.eligible == [0, 1, 2] && old.seed == 42)
        // Version 7 filled the report's buckets from the log already there.
        var bucket = ReportBucket(strategyID: 1, arm: 2, hour: 0)
        bucket.decisions = 1
        #expect(try store.reportBuckets(experimentID: 1) == [bucket])
        // New decisions go to blocks beside the old rows.
        let record = DecisionRecord(id: 5 << 40 | 1, experimentID: 1, strategyID: 1, modelVersion: 0, appliedThrough: 0, arm: 0,
                                    propensity: 0.5, trafficShare: 1, seed: 1, eligible: [0, 1], context: nil, unitID: nil,
                                    fallback: nil, createdAt: 8)
        try store.transaction { try store.insertDecisions([record]) }
        #expect(try store.decision(id: record.id) == record)
        #expect(try store.decisionCount() == 2)
    }

    @Test("version 5: arm names move into their experiment's row, figures into arm_stats, and strategies learn their saved watermark")
    func fromVersion4() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("old.sqlite")
        do {
            let database = try Database(path: path)
            for migration in Schema.sqlMigrations { try database.execute(migration) }
            try database.execute("PRAGMA user_version = 4")
            try database.execute("""
                INSERT INTO tenants (id, name, created_at) VALUES (1, 'acme', 1);
                INSERT INTO experiments (id, tenant_id, key, created_at, updated_at) VALUES (1, 1, 'route', 1, 1), (2, 1, 'empty', 1, 1);
                INSERT INTO arms (experiment_id, arm_index, name, created_at, decisions, feedback_count, feedback_weight, reward_sum,
                                  reward_squares, last_decision_at, last_feedback_at)
                VALUES (1, 1, 'second "b"', 1, 0, 0, 0, 0, 0, NULL, NULL), (1, 0, 'first', 1, 5, 3, 3, 2, 2, 10, 11),
                       (2, 0, 'only', 1, 0, 0, 0, 0, 0, NULL, NULL);
                INSERT INTO experiment_strategies (id, experiment_id, name, plugin, config, weight, last_event_id, created_at, updated_at)
                VALUES (7, 1, 'thompson', 'thompson', '{}', 1, 40, 1, 1), (8, 2, 'thompson', 'thompson', '{}', 1, 0, 1, 1);
                INSERT INTO model_versions (strategy_id, version, state, state_format_version, plugin_name, plugin_version, config,
                                            watermark, checksum, status, reason, created_at)
                VALUES (7, 1, X'00', 1, 'thompson', '1.0.0', '{}', 30, 'x', 'archived', 'periodic', 1),
                       (7, 2, X'00', 1, 'thompson', '1.0.0', '{}', 35, 'x', 'active', 'periodic', 2);
                """)
        }
        let store = try Store(path: path)
        #expect(try store.database.scalar("PRAGMA user_version") == Int64(Schema.currentVersion))
        #expect(try store.experiment(id: 1)?.arms == ["first", "second \"b\""], "in index order, any name")
        #expect(try store.experiment(id: 2)?.arms == ["only"])
        let stats = try store.armStats(experimentID: 1)
        #expect(stats.count == 1, "a row only for the arm that had figures")
        #expect(stats[0]?.decisions == 5 && stats[0]?.rewardSum == 2 && stats[0]?.lastFeedbackAt == 11)
        let strategies = try store.strategies()
        #expect(strategies.map(\.savedThrough) == [35, 0], "the active version's watermark, 0 without one")
        #expect(try store.strategiesWithUnsavedEvents().map(\.id) == [7], "events 36 to 40 are to replay")
        #expect(try store.database.scalar("SELECT count(*) FROM sqlite_schema WHERE name = 'arms'") == 0)
    }

    @Test("a page of a tenant's experiments is a range of an index, not a sort of all of them")
    func experimentPageByIndex() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store(path: directory.file("arbiter.sqlite"))
        let plan = try store.database.with("""
            EXPLAIN QUERY PLAN SELECT id FROM experiments WHERE tenant_id = 1 AND id > 5 ORDER BY id LIMIT 10
            """) { s throws(SQLiteError) -> [String] in
            var lines: [String] = []
            while try s.step() { lines.append(s.string(3)) }
            return lines
        }
        #expect(plan.contains { $0.contains("experiments_by_tenant") && $0.contains("rowid>?") }, "\(plan)")
        #expect(!plan.contains { $0.contains("TEMP B-TREE") }, "no sort: \(plan)")
    }

    @Test("a database newer than the build is refused and left untouched")
    func newerDatabase() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("new.sqlite")
        try Database(path: path).execute("PRAGMA user_version = \(Schema.currentVersion + 1)")
        #expect(throws: SchemaError.self) { try Store(path: path) }
        #expect(try Database(path: path).scalar("PRAGMA user_version") == Int64(Schema.currentVersion + 1))
    }
}
