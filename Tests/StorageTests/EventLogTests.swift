import Foundation
import SQLite
@testable import Storage
import Testing
import TestSupport

@Suite("The event log: events packed in blocks, event ids apart")
struct EventLogTests {
    /// Events with sequence numbers from `first` on, of every shape a record can take.
    private func events(from first: Int64, count: Int, createdAt: Int64 = 1_764_000_000_000) -> [EventRecord] {
        (0..<count).map { (n: Int) -> EventRecord in
            let eventID: String = n % 7 == 0 ? "évènement-\(n)-✓" : "e-\(n)"
            let decisionID: UInt64 = n % 3 == 0 ? UInt64.max - UInt64(n) : (1 << 40) + UInt64(n)
            let reward: Double = n % 5 == 0 ? -1e300 : Double(n % 2) * 0.75
            let weight: Double = n % 4 == 0 ? 0 : 1.5
            // Times may go backwards across a block (clock steps): kept exactly.
            let created: Int64 = createdAt + Int64(n % 11) - 5
            return EventRecord(id: first + Int64(n), tenantID: Int64(1 + n % 2), eventID: eventID, decisionID: decisionID,
                               strategyID: Int64(10 + n % 4), arm: n % 10, reward: reward, weight: weight, createdAt: created)
        }
    }

    @Test("a block decodes to exactly the events encoded; a truncated, corrupt or unknown-format one is refused")
    func roundTrip() throws {
        let logged = events(from: 41, count: 300)
        let bytes = EventBlock.encode(logged, firstID: 41, createdAt: logged[0].createdAt)
        #expect(bytes.count < logged.count * 50, "packed: \(bytes.count) bytes for \(logged.count) events")
        #expect(EventBlock.decode(bytes, format: 1, firstID: 41, createdAt: logged[0].createdAt, count: 300) == logged)
        #expect(EventBlock.decode(bytes, format: 2, firstID: 41, createdAt: logged[0].createdAt, count: 300) == nil)
        #expect(EventBlock.decode(bytes, format: 1, firstID: 41, createdAt: logged[0].createdAt, count: 299) == nil)
        #expect(EventBlock.decode(bytes, format: 1, firstID: 41, createdAt: logged[0].createdAt, count: 301) == nil)
        for cut in [1, 4, 30, bytes.count / 2, bytes.count - 1] {
            #expect(EventBlock.decode(Array(bytes.prefix(cut)), format: 1, firstID: 41, createdAt: 0, count: 300) == nil, "cut at \(cut)")
        }
        // An event id longer than what is left, and a varint that never ends.
        #expect(EventBlock.decode([0, 1, 0x7F, 0x41], format: 1, firstID: 1, createdAt: 0, count: 1) == nil)
        #expect(EventBlock.decode(Array(repeating: 0xFF, count: 40), format: 1, firstID: 1, createdAt: 0, count: 1) == nil)
    }

    @Test("stored in blocks of at most the capacity, replayed in order after any watermark, ids claimed once per tenant")
    func storedAndReplayed() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store(path: directory.file("log.sqlite"))
        let first = events(from: 1, count: EventBlock.capacity + 10)
        let second = events(from: first.last!.id + 1, count: 3)
        try store.transaction { try store.insertEvents(first) }
        try store.transaction { try store.insertEvents(second) }
        #expect(try store.database.scalar("SELECT count(*) FROM event_blocks") == 3)
        #expect(try store.eventCount() == first.count + second.count)
        #expect(try store.lastEventID() == second.last!.id)
        for watermark: Int64 in [0, 1, Int64(EventBlock.capacity), Int64(EventBlock.capacity) + 1, second.last!.id - 1, second.last!.id] {
            var replayed: [EventRecord] = []
            try store.forEachEvent(after: watermark) { replayed.append($0) }
            #expect(replayed == (first + second).filter { $0.id > watermark }, "after \(watermark)")
        }
        try store.transaction { () throws -> Void in
            #expect(try store.claimEventID(tenantID: 1, eventID: "a"))
            #expect(!(try store.claimEventID(tenantID: 1, eventID: "a")))
            #expect(try store.claimEventID(tenantID: 2, eventID: "a"), "event ids are unique per tenant")
        }
    }

    @Test("a damaged block stops the replay with an error naming it, rather than skipping events")
    func damagedBlock() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store(path: directory.file("log.sqlite"))
        try store.transaction { try store.insertEvents(events(from: 1, count: 5)) }
        try store.database.execute("UPDATE event_blocks SET records = substr(records, 1, 20)")
        #expect(throws: CorruptBlockError.self) { try store.forEachEvent(after: 0) { _ in } }
    }

    @Test("events an older build stored as rows keep their ids and sequence numbers after the migration")
    func fromVersion3() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let path = directory.file("old.sqlite")
        do {
            let database = try Database(path: path)
            for migration in Schema.sqlMigrations.prefix(3) { try database.execute(migration) }
            try database.execute("PRAGMA user_version = 3")
            try database.execute("""
                INSERT INTO learning_events (id, tenant_id, event_id, decision_id, strategy_id, arm, reward, weight, created_at)
                VALUES (1, 1, 'old-1', 7, 3, 0, 1.0, 1.0, 100), (2, 1, 'old-2', 8, 3, 1, 0.0, 2.0, 101)
                """)
        }
        let store = try Store(path: path)
        #expect(try store.database.scalar("PRAGMA user_version") == Int64(Schema.currentVersion))
        #expect(try store.lastEventID() == 2)
        try store.transaction { () throws -> Void in
            #expect(!(try store.claimEventID(tenantID: 1, eventID: "old-2")), "an id stored before the migration is still a duplicate")
            #expect(try store.claimEventID(tenantID: 1, eventID: "new-3"))
        }
        let newer = EventRecord(id: 3, tenantID: 1, eventID: "new-3", decisionID: 9, strategyID: 3, arm: 2, reward: 0.5,
                                weight: 1, createdAt: 102)
        try store.transaction { try store.insertEvents([newer]) }
        var replayed: [EventRecord] = []
        try store.forEachEvent(after: 1) { replayed.append($0) }
        #expect(replayed.map(\.id) == [2, 3])
        #expect(replayed.map(\.eventID) == ["old-2", "new-3"])
        #expect(replayed[0].weight == 2 && replayed[1] == newer)
        #expect(try store.eventCount() == 3)
    }
}
