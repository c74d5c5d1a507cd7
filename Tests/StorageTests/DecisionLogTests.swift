import Foundation
import SQLite
@testable import Storage
import Testing
import TestSupport

@Suite("The decision log: decisions packed in blocks")
struct DecisionLogTests {
    /// Decisions with every shape a record can take, ids from `first` on.
    private func decisions(from first: UInt64, count: Int, createdAt: Int64 = 1_764_000_000_000) -> [DecisionRecord] {
        (0..<count).map { n in
            let shape = n % 5
            return DecisionRecord(
                id: first + UInt64(n), experimentID: Int64(1 + n % 3), strategyID: Int64(10 + n % 4),
                modelVersion: n % 7, appliedThrough: Int64(n) * 1_000_003, arm: n % 10,
                propensity: 1 / Double(1 + n % 9), trafficShare: n % 2 == 0 ? 1 : 0.25,
                seed: UInt64(n) &* 0x9E37_79B9_7F4A_7C15,
                eligible: shape == 0 ? [] : shape == 1 ? Array(0..<10) : shape == 2 ? [3, 1, 2] : [0, 1, 2, 4],
                context: shape == 3 ? [0.5, -1e300, .leastNonzeroMagnitude, 0] : nil,
                unitID: shape == 4 ? "user-\(n)-ünï" : nil,
                fallback: shape == 2 ? "plugin returned status 3" : nil,
                // Times may go backwards across a block (clock steps): kept exactly.
                createdAt: createdAt + Int64(n % 11) - 5)
        }
    }

    @Test("a block decodes to exactly the decisions encoded, in order")
    func roundTrip() throws {
        let logged = decisions(from: 1 << 40 | 7, count: 300)
        let bytes = DecisionBlock.encode(logged, firstID: logged[0].id, createdAt: logged[0].createdAt)
        #expect(bytes.count < logged.count * 60, "packed: \(bytes.count) bytes for \(logged.count) decisions")
        let decoded = try #require(DecisionBlock.decode(bytes, format: DecisionBlock.format, firstID: logged[0].id,
                                                        createdAt: logged[0].createdAt, count: logged.count))
        #expect(decoded == logged)
        // Each one is found alone, and an id the block does not hold is not.
        for probe in [0, 1, 150, 299] {
            #expect(DecisionBlock.find(logged[probe].id, in: bytes, format: 1, firstID: logged[0].id,
                                       createdAt: logged[0].createdAt) == logged[probe])
        }
        #expect(DecisionBlock.find(logged[299].id + 1, in: bytes, format: 1, firstID: logged[0].id, createdAt: logged[0].createdAt) == nil)
    }

    @Test("a truncated, corrupt or unknown-format block is refused, never misread")
    func malformed() {
        let logged = decisions(from: 1, count: 20)
        let bytes = DecisionBlock.encode(logged, firstID: 1, createdAt: logged[0].createdAt)
        #expect(DecisionBlock.decode(bytes, format: 1, firstID: 1, createdAt: 0, count: 20) != nil)
        #expect(DecisionBlock.decode(bytes, format: 2, firstID: 1, createdAt: 0, count: 20) == nil)
        #expect(DecisionBlock.decode(bytes, format: 1, firstID: 1, createdAt: 0, count: 19) == nil)
        for cut in [1, 5, 17, bytes.count / 2, bytes.count - 1] {
            #expect(DecisionBlock.decode(Array(bytes.prefix(cut)), format: 1, firstID: 1, createdAt: 0, count: 20) == nil, "cut at \(cut)")
        }
        // A varint that never ends, and a huge arm count.
        #expect(DecisionBlock.decode(Array(repeating: 0xFF, count: 40), format: 1, firstID: 1, createdAt: 0, count: 1) == nil)
        var huge: [UInt8] = [0, 1, 1, 0, 0, 0] + Array(repeating: 0, count: 24) + [0, 1]
        huge += [0xFF, 0xFF, 0xFF, 0xFF, 0x0F]
        #expect(DecisionBlock.decode(huge, format: 1, firstID: 1, createdAt: 0, count: 1) == nil)
    }

    @Test("stored in blocks of at most the capacity; every decision is found by id, others are not")
    func storedAndFound() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store(path: directory.file("log.sqlite"))
        let first = decisions(from: 1 << 40 | 1, count: DecisionBlock.capacity + 10)
        let second = decisions(from: first.last!.id + 1, count: 3)
        try store.transaction { try store.insertDecisions(first) }
        try store.transaction { try store.insertDecisions(second) }
        #expect(try store.database.scalar("SELECT count(*) FROM decision_blocks") == 3)
        #expect(try store.database.scalar("SELECT max(decisions) FROM decision_blocks") == Int64(DecisionBlock.capacity))
        #expect(try store.decisionCount() == first.count + second.count)
        for decision in [first[0], first[DecisionBlock.capacity - 1], first[DecisionBlock.capacity], first.last!, second[1]] {
            #expect(try store.decision(id: decision.id) == decision)
            let origins = try store.decisionOrigins(around: decision.id)
            #expect(origins.first { $0.id == decision.id } == DecisionOrigin(id: decision.id, experimentID: decision.experimentID,
                                                                             strategyID: decision.strategyID, arm: decision.arm))
        }
        // A decision's whole block comes along (feedback tends to come for its neighbours too).
        #expect(try store.decisionOrigins(around: first[5].id).map(\.id) == first.prefix(DecisionBlock.capacity).map(\.id))
        #expect(try store.decision(id: 1 << 40) == nil)
        #expect(try store.decision(id: second.last!.id + 1) == nil)
        #expect(try store.decisionOrigins(around: second.last!.id + 1).isEmpty)
    }

    @Test("decisions an older build logged as rows are still found")
    func olderRows() throws {
        let directory = try TemporaryDirectory()
        defer { directory.remove() }
        let store = try Store(path: directory.file("log.sqlite"))
        try store.database.execute("""
            INSERT INTO decisions (id, experiment_id, strategy_id, model_version, applied_through, arm, propensity,
                traffic_share, seed, eligible, context, unit_id, fallback, created_at)
            VALUES (4398046511105, 2, 3, 4, 5, 1, 0.5, 1.0, -1, X'0100000003000000', X'000000000000F03F', 'u', NULL, 99)
            """)
        let newer = decisions(from: 3 << 40 | 1, count: 4)
        try store.transaction { try store.insertDecisions(newer) }
        let old = try #require(try store.decision(id: 4_398_046_511_105))
        #expect(try store.decisionOrigins(around: 4_398_046_511_105) == [DecisionOrigin(id: 4_398_046_511_105, experimentID: 2, strategyID: 3, arm: 1)])
        #expect(old.eligible == [1, 3])
        #expect(old.context == [1.0])
        #expect(old.seed == UInt64.max)
        #expect(old.unitID == "u")
        #expect(try store.decision(id: newer[2].id) == newer[2])
        #expect(try store.decisionCount() == 5)
    }
}
