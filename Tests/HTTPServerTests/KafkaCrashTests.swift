import Engine
import Foundation
import FoundationNetworking
import PluginHost
import Storage
import Testing
import TestSupport

@Suite("Kafka: exactly once across SIGKILL at random moments", .serialized)
struct KafkaCrashTests {
    /// The server's stored offsets, summed over partitions (from its status).
    static func storedOffsets(_ server: ServerProcess) async throws -> Int {
        var request = URLRequest(url: URL(string: "http://127.0.0.1:\(server.port)/api/learning/status")!)
        request.setValue("Bearer \(server.key)", forHTTPHeaderField: "Authorization")
        let (data, _) = try await URLSession.shared.data(for: request)
        let status = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any] ?? [:]
        let partitions = (status["kafka"] as? [String: Any])?["partitions"] as? [[String: Any]] ?? []
        return partitions.compactMap { $0["stored_offset"] as? Int }.reduce(0, +)
    }

    @Test("a producer writes to four partitions while the server is killed with SIGKILL 20 times (a rebalance at each start); every message is applied exactly once and the state equals a replay of the stored events")
    func killedRepeatedly() async throws {
        try await MockKafkaCluster.with { cluster in
            let arguments = ["--kafka-brokers", cluster.address, "--kafka-topics", "crash",
                             // A killed member leaves the group when its session expires: short, so the next start is assigned soon.
                             "--kafka-properties", "session.timeout.ms=6000,heartbeat.interval.ms=500"]
            let server = try ServerProcess(extraArguments: arguments)
            defer { server.directory.remove() }
            try await server.start()
            #expect(try await server.post("/v1/experiments", #"{"key": "crash", "arms": ["a", "b", "c"], "strategy": "thompson"}"#).0 == 201)
            let requests = Array(repeating: "{}", count: 500).joined(separator: ",")
            let decided = try await server.post("/v1/experiments/crash/decide", #"{"requests": [\#(requests)]}"#).1
            let decisions = (decided["decisions"] as? [[String: Any]] ?? []).compactMap { $0["decision_id"] as? String }
            #expect(decisions.count == 500)

            var generator = SystemRandomNumberGenerator()
            var produced = 0
            func produce(_ count: Int) throws {
                let lines = (produced..<produced + count).map { index in
                    "k\(index)\u{1}{\"tenant\": \"default\", \"event_id\": \"e\(index)\", \"decision_id\": \"\(decisions[index % decisions.count])\", \"reward\": \(index % 3 == 0 ? 1 : 0)}"
                }
                try cluster.produce(lines, to: "crash")
                produced += count
            }
            for kill in 0..<20 {
                try produce(25)
                // Killed once this start has applied something, at a random moment after.
                let before = try await Self.storedOffsets(server)
                let deadline = ContinuousClock.now + .seconds(30)
                while try await Self.storedOffsets(server) == before, ContinuousClock.now < deadline {
                    try produce(5)
                    try await Task.sleep(for: .milliseconds(100))
                }
                try await Task.sleep(for: .milliseconds(Int.random(in: 0...150, using: &generator)))
                #expect(await server.stop(SIGKILL) == .signal(SIGKILL), "kill \(kill)")
                try await server.start()
            }
            // The last start consumes everything left, then stops cleanly.
            let deadline = ContinuousClock.now + .seconds(60)
            while try await Self.storedOffsets(server) < produced, ContinuousClock.now < deadline {
                try await Task.sleep(for: .milliseconds(200))
            }
            #expect(try await Self.storedOffsets(server) == produced, "every message's offset stored")
            #expect(await server.stop() == .exit(0), "\(server.output.suffix(2_000))")

            // Every message applied exactly once.
            let store = try Store(path: server.directory.file("arbiter.sqlite"), migrate: false)
            var stored: [String: Int] = [:]
            var records: [FeedbackRecord] = []
            try store.forEachEvent(after: 0) { event in
                stored[event.eventID, default: 0] += 1
                records.append(FeedbackRecord(arm: UInt32(event.arm), reward: event.reward, weight: event.weight))
            }
            #expect(stored.count == produced, "\(stored.count) of \(produced) messages applied")
            #expect(stored.values.allSatisfy { $0 == 1 }, "none twice")
            #expect(try store.kafkaOffsets().map(\.next).reduce(0, +) == Int64(produced))

            // The state equals a replay of the stored events from the start.
            let engine = try Engine.open(configuration: EngineConfiguration(dataDirectory: server.directory.path), catalog: FirstPartyPlugins.catalog)
            let restored = try engine.currentState(tenant: "default", experiment: "crash", strategy: "thompson")
            await engine.shutdown()
            let replay = try FirstPartyPlugins.plugin("thompson").makeInstance(armCount: 3)
            try replay.update(records)
            #expect(try replay.serialize() == restored)
        }
    }
}
