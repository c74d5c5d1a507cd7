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
            for migration in Schema.migrations.prefix(2) { try database.execute(migration) }
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
        // New decisions go to blocks beside the old rows.
        let record = DecisionRecord(id: 5 << 40 | 1, experimentID: 1, strategyID: 1, modelVersion: 0, appliedThrough: 0, arm: 0,
                                    propensity: 0.5, trafficShare: 1, seed: 1, eligible: [0, 1], context: nil, unitID: nil,
                                    fallback: nil, createdAt: 8)
        try store.transaction { try store.insertDecisions([record]) }
        #expect(try store.decision(id: record.id) == record)
        #expect(try store.decisionCount() == 2)
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
