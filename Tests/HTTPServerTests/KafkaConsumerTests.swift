import Assembly
import Engine
import Foundation
import Kafka
import Storage
import Testing
import TestSupport

/// librdkafka's mock cluster in a process of its own (Tests/Support).
final class MockKafkaCluster: @unchecked Sendable {
    let process: ChildProcess
    let address: String
    private let directory: TemporaryDirectory

    init() async throws {
        directory = try TemporaryDirectory("arbiter-kafka")
        let file = directory.file("address")
        process = try ChildProcess(TestPaths.python, [TestPaths.file("Tests/Support/kafka_mock_cluster.py"), file])
        let deadline = ContinuousClock.now + .seconds(20)
        while !FileManager.default.fileExists(atPath: file) {
            guard ContinuousClock.now < deadline, process.isRunning else {
                throw TestServer.Failure(message: "the Kafka mock cluster did not start")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        address = try String(contentsOfFile: file, encoding: .utf8).trimmingCharacters(in: .whitespacesAndNewlines)
    }

    /// Produces `lines` ("key:value" each) to `topic` with kcat.
    func produce(_ lines: [String], to topic: String) throws {
        let file = directory.file("messages-\(UUID().uuidString)")
        try (lines.joined(separator: "\n") + "\n").write(toFile: file, atomically: true, encoding: .utf8)
        try Command.run("/usr/bin/env", ["kcat", "-P", "-b", address, "-t", topic, "-K", "\u{1}", "-l", file])
    }

    /// The messages of `topic`, as text.
    func consume(_ topic: String) throws -> [String] {
        try Command.run("/usr/bin/env", ["kcat", "-C", "-b", address, "-t", topic, "-e", "-q", "-f", "%s\\n"])
            .split(separator: "\n").map(String.init)
    }

    func stop() async {
        process.send(SIGTERM)
        _ = await process.wait()
        directory.remove()
    }

    /// Runs `body` with a cluster, stopped afterwards whatever happens.
    static func with(_ body: (MockKafkaCluster) async throws -> Void) async throws {
        let cluster = try await MockKafkaCluster()
        do {
            try await body(cluster)
        } catch {
            await cluster.stop()
            throw error
        }
        await cluster.stop()
    }
}

@Suite("Kafka: feedback consumed into the same pipeline, offsets stored with the batches", .serialized)
struct KafkaConsumerTests {
    @Test("messages become feedback; malformed ones and unknown decisions are counted, dead-lettered and skipped; duplicates are applied once; status shows it")
    func consumes() async throws {
        try await MockKafkaCluster.with { cluster in
            try await TestServer.with(configure: { configuration in
                configuration.kafka.brokers = cluster.address
                configuration.kafka.topics = ["feedback"]
                configuration.kafka.deadLetterTopic = "dead"
                configuration.kafka.defaultTenant = "acme"
            }) { server in
                try await server.createExperiment("k", arms: ["a", "b", "c"])
                var decisions: [String] = []
                for _ in 0..<30 {
                    decisions.append(try await server.post("/v1/experiments/k/decide", "{}", key: server.key).json["decision_id"] as? String ?? "")
                }
                // Keys spread the messages over the topic's partitions.
                var lines = decisions.enumerated().map { index, id in
                    "\(index)\u{1}{\"event_id\": \"m\(index)\", \"decision_id\": \"\(id)\", \"reward\": \(index % 2)}"
                }
                lines.append("bad\u{1}not json at all")
                lines.append("tenant\u{1}{\"tenant\": \"nobody\", \"event_id\": \"x\", \"decision_id\": \"\(decisions[0])\", \"reward\": 1}")
                lines.append("decision\u{1}{\"event_id\": \"y\", \"decision_id\": \"12345\", \"reward\": 1}")
                try cluster.produce(lines, to: "feedback")

                func status() async throws -> [String: Any] {
                    try await server.get("/api/learning/status", key: server.key).json["kafka"] as? [String: Any] ?? [:]
                }
                let deadline = ContinuousClock.now + .seconds(30)
                var kafka = try await status()
                while (kafka["messages"] as? Int ?? 0) < 33, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(100))
                    kafka = try await status()
                }
                #expect(kafka["enabled"] as? Bool == true)
                #expect(kafka["messages"] as? Int == 33, "\(kafka)")
                #expect(kafka["malformed"] as? Int == 2, "not JSON, an unknown tenant")
                #expect(kafka["dead_lettered"] as? Int == 3, "and the unknown decision")
                let partitions = kafka["partitions"] as? [[String: Any]] ?? []
                #expect(partitions.count == 4)
                #expect(partitions.compactMap { $0["stored_offset"] as? Int }.reduce(0, +) == 33, "every message's offset stored: \(partitions)")
                #expect(partitions.compactMap { $0["committed_offset"] as? Int }.reduce(0, +) == 33, "and committed to Kafka: \(partitions)")
                #expect((kafka["messages_per_second"] as? Double).map { $0 >= 0 && $0 <= 3.3 } == true, "33 messages over 10 s at most: \(kafka)")

                try await server.flush()
                let store = try server.store()
                var stored: [String: Int] = [:]
                try store.forEachEvent(after: 0) { stored[$0.eventID, default: 0] += 1 }
                #expect(stored.count == 30)
                #expect(stored.values.allSatisfy { $0 == 1 })
                #expect(try store.kafkaOffsets().map(\.next).reduce(0, +) == 33)
                // Produced in the background: delivered a moment later.
                var dead: [String] = []
                while dead.count < 3, ContinuousClock.now < deadline + .seconds(10) {
                    dead = (try? cluster.consume("dead")) ?? []
                    if dead.count < 3 { try await Task.sleep(for: .milliseconds(200)) }
                }
                #expect(dead.count == 3)
                #expect(dead.contains("not json at all"))

                // The same events again: duplicates by event id, applied once.
                try cluster.produce(Array(lines.prefix(30)), to: "feedback")
                while (kafka["messages"] as? Int ?? 0) < 63, ContinuousClock.now < deadline + .seconds(20) {
                    try await Task.sleep(for: .milliseconds(100))
                    kafka = try await status()
                }
                #expect(kafka["messages"] as? Int == 63)
                // The same in /metrics, with the lag of each partition (0
                // once every message is applied and the watermarks are seen).
                var metrics = ""
                while ContinuousClock.now < deadline + .seconds(30) {
                    metrics = try await server.get("/metrics", key: nil).text
                    if metrics.contains("arbiter_kafka_lag{"), !metrics.split(separator: "\n").contains(where: { $0.hasPrefix("arbiter_kafka_lag{") && !$0.hasSuffix(" 0.0") }) { break }
                    try await Task.sleep(for: .milliseconds(200))
                }
                #expect(metrics.contains("arbiter_kafka_messages_total 63.0"), "\(metrics)")
                #expect(metrics.contains("arbiter_kafka_malformed_total 2.0"))
                #expect(metrics.contains("arbiter_kafka_dead_lettered_total 3.0"))
                #expect(metrics.split(separator: "\n").filter { $0.hasPrefix("arbiter_kafka_lag{topic=\"feedback\"") }.count == 4, "\(metrics)")
                #expect(metrics.split(separator: "\n").filter { $0.hasPrefix("arbiter_kafka_committed_offset{topic=\"feedback\"") }.count == 4)
                #expect(metrics.contains("arbiter_kafka_messages_per_second "))
                #expect(metrics.split(separator: "\n").filter { $0.hasPrefix("arbiter_kafka_lag{") }.allSatisfy { $0.hasSuffix(" 0.0") })
                try await server.flush()
                stored = [:]
                try store.forEachEvent(after: 0) { stored[$0.eventID, default: 0] += 1 }
                #expect(stored.count == 30 && stored.values.allSatisfy { $0 == 1 }, "duplicates are not applied again")
            }
        }
    }

    @Test("the disk full while messages come: the consumer waits (retries) rather than skipping, stops promptly on SIGTERM without storing past what it applied, and the next start applies every message once")
    func diskFull() async throws {
        let disk = try SmallDisk("arbiter-kafka-small-disk")
        defer { disk.remove() }
        let data = disk.file("data")
        try await MockKafkaCluster.with { cluster in
            func configure(_ configuration: inout HostConfiguration) {
                configureDiskTest(&configuration, data: data, cluster: cluster, topic: "full")
            }
            var producer: FeedbackProducer!
            try await TestServer.with(configure: configure) { server in
                producer = try await FeedbackProducer(server, cluster, topic: "full", eventPrefix: "f")
                try producer.produce(100)
                try await waitUntilStored(server, 100, seconds: 30)
                #expect(try await storedOffsets(server) == 100)

                // The disk full (kept full: a checkpoint frees some of it):
                // messages keep coming until a batch is not taken, and tried again.
                _ = try await fillUntilRetried(disk, server, producer, messages: 200)
                try await Task.sleep(for: .seconds(1))
                let kafka = try await kafkaStatus(server)
                #expect(kafka["retries"] as? Int ?? 0 >= 1, "the consumer waits for space: \(kafka)")
                #expect(kafka["dead_lettered"] as? Int == 0)
                #expect(try await storedOffsets(server) < producer.produced)
                // The server is stopped now, the disk still full (TestServer.with waits for it).
            }
            try disk.free()
            // The next start reads again what was not stored, and applies it once.
            try await TestServer.with(configure: configure) { server in
                try await waitUntilStored(server, producer.produced, seconds: 60)
                #expect(try await storedOffsets(server) == producer.produced)
                let events = try await eventCounts(server)
                #expect(events.count == producer.produced && events.values.allSatisfy { $0 == 1 }, "\(events.count) events of \(producer.produced)")
            }
        }
    }

    @Test("the disk full, then space back while the server runs: the consumer stores what waited by itself, in order, every message once")
    func diskFullThenSpace() async throws {
        let disk = try SmallDisk("arbiter-kafka-space-back")
        defer { disk.remove() }
        try await MockKafkaCluster.with { cluster in
            func configure(_ configuration: inout HostConfiguration) {
                configureDiskTest(&configuration, data: disk.file("data"), cluster: cluster, topic: "space")
                // Small batches: several in flight when the disk fills.
                configuration.kafka.batchSize = 50
            }
            try await TestServer.with(configure: configure) { server in
                let producer = try await FeedbackProducer(server, cluster, topic: "space", eventPrefix: "s")
                try producer.produce(100)
                try await waitUntilStored(server, 100, seconds: 30)
                #expect(try await storedOffsets(server) == 100)

                var kafka = try await fillUntilRetried(disk, server, producer, messages: 400)
                #expect(kafka["retries"] as? Int ?? 0 >= 1, "the consumer waits for space: \(kafka)")
                try producer.produce(400)
                try disk.free()
                try await waitUntilStored(server, producer.produced, seconds: 60)
                #expect(try await storedOffsets(server) == producer.produced, "everything stored once space returned, without a restart")
                kafka = try await kafkaStatus(server)
                #expect(kafka["dead_lettered"] as? Int == 0 && kafka["malformed"] as? Int == 0)
                let events = try await eventCounts(server)
                #expect(events.count == producer.produced && events.values.allSatisfy { $0 == 1 }, "\(events.count) events of \(producer.produced)")
            }
        }
    }

    // MARK: What the disk tests share

    /// A server on `data` (its write-ahead log kept small) consuming `topic`
    /// for the tenant acme.
    func configureDiskTest(_ configuration: inout HostConfiguration, data: String, cluster: MockKafkaCluster, topic: String) {
        configuration.dataDirectory = data
        configuration.engine.maxLogBytes = 4 * 1_048_576
        configuration.kafka.brokers = cluster.address
        configuration.kafka.topics = [topic]
        configuration.kafka.defaultTenant = "acme"
        configuration.kafka.properties = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]
    }

    /// The `kafka` member of the server's status.
    func kafkaStatus(_ server: TestServer) async throws -> [String: Any] {
        try await server.get("/api/learning/status", key: server.key).json["kafka"] as? [String: Any] ?? [:]
    }

    /// The offsets stored with the feedback, over every partition.
    func storedOffsets(_ server: TestServer) async throws -> Int {
        (try await kafkaStatus(server)["partitions"] as? [[String: Any]] ?? []).compactMap { $0["stored_offset"] as? Int }.reduce(0, +)
    }

    func waitUntilStored(_ server: TestServer, _ count: Int, seconds: Int) async throws {
        let deadline = ContinuousClock.now + .seconds(seconds)
        while try await storedOffsets(server) < count, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
    }

    /// Fills the disk and produces `messages` more, again (a checkpoint
    /// frees some of it) until the consumer has had a batch not taken;
    /// returns the status then.
    func fillUntilRetried(_ disk: SmallDisk, _ server: TestServer, _ producer: FeedbackProducer, messages: Int) async throws -> [String: Any] {
        var kafka = try await kafkaStatus(server)
        for _ in 0..<100 where kafka["retries"] as? Int ?? 0 == 0 {
            try disk.fill()
            try producer.produce(messages)
            try await Task.sleep(for: .milliseconds(300))
            kafka = try await kafkaStatus(server)
        }
        return kafka
    }

    /// How many times each event id is stored, once the pipeline is flushed.
    func eventCounts(_ server: TestServer) async throws -> [String: Int] {
        try await server.flush()
        var events: [String: Int] = [:]
        try server.store().forEachEvent(after: 0) { events[$0.eventID, default: 0] += 1 }
        return events
    }

    /// Feedback messages for 100 decisions of a new two-arm experiment named
    /// after the topic, numbered on from the last produced.
    final class FeedbackProducer {
        let cluster: MockKafkaCluster
        let topic: String
        let eventPrefix: String
        let decisionIDs: [String]
        private(set) var produced = 0

        init(_ server: TestServer, _ cluster: MockKafkaCluster, topic: String, eventPrefix: String) async throws {
            try await server.createExperiment(topic, arms: ["a", "b"])
            let decided = try await server.post("/v1/experiments/\(topic)/decide", #"{"requests": [\#(Array(repeating: "{}", count: 100).joined(separator: ","))]}"#, key: server.key)
            decisionIDs = (decided.json["decisions"] as? [[String: Any]] ?? []).compactMap { $0["decision_id"] as? String }
            self.cluster = cluster
            self.topic = topic
            self.eventPrefix = eventPrefix
        }

        func produce(_ count: Int) throws {
            try cluster.produce((produced..<produced + count).map {
                "k\($0)\u{1}{\"event_id\": \"\(eventPrefix)\($0)\", \"decision_id\": \"\(decisionIDs[$0 % decisionIDs.count])\", \"reward\": \($0 % 2)}"
            }, to: topic)
            produced += count
        }
    }

    @Test("a message may carry its decision's route (experiment, strategy and arm, all three or none)")
    func parsesRoutes() throws {
        let routed = try FeedbackMessage(bytes: Array(#"{"event_id": "e", "decision_id": "7", "reward": 1, "experiment": "ab", "strategy": "ucb", "arm": "x"}"#.utf8),
                                         defaultTenant: "acme")
        #expect(routed.tenant == "acme")
        #expect(routed.event.route == FeedbackRoute(experiment: "ab", strategy: "ucb", arm: "x"))
        #expect(try FeedbackMessage(bytes: Array(#"{"event_id": "e", "decision_id": "7", "reward": 1}"#.utf8), defaultTenant: "acme").event.route == nil)
        for partial in [#""experiment": "ab""#, #""experiment": "ab", "arm": "x""#, #""strategy": "ucb""#, #""experiment": 1, "strategy": "ucb", "arm": "x""#] {
            #expect(throws: FeedbackMessage.Malformed.self, "\(partial)") {
                try FeedbackMessage(bytes: Array(#"{"event_id": "e", "decision_id": "7", "reward": 1, \#(partial)}"#.utf8), defaultTenant: "acme")
            }
        }
    }

    @Test("every decision is published to the decisions topic once stored, with what a data team joins on")
    func publishesDecisions() async throws {
        try await MockKafkaCluster.with { cluster in
            try await TestServer.with(configure: { configuration in
                configuration.kafka.brokers = cluster.address
                configuration.kafka.topics = ["feedback"]
                configuration.kafka.decisionsTopic = "decisions"
            }) { server in
                try await server.createExperiment("pub", arms: ["a", "b", "c"])
                var answers: [String: [String: Any]] = [:]
                for index in 0..<10 {
                    let body = index % 2 == 0 ? #"{"unit_id": "u\#(index)"}"# : #"{"eligible_arms": ["b", "c"]}"#
                    let answer = try await server.post("/v1/experiments/pub/decide", body, key: server.key).json
                    answers[answer["decision_id"] as? String ?? ""] = answer
                }
                try await server.flush()
                let deadline = ContinuousClock.now + .seconds(30)
                var published: [[String: Any]] = []
                while published.count < 10, ContinuousClock.now < deadline {
                    published = ((try? cluster.consume("decisions")) ?? []).compactMap {
                        (try? JSONSerialization.jsonObject(with: Data($0.utf8))) as? [String: Any]
                    }
                    if published.count < 10 { try await Task.sleep(for: .milliseconds(200)) }
                }
                #expect(published.count == 10)
                for decision in published {
                    let id = decision["decision_id"] as? String ?? ""
                    let answer = try #require(answers[id], "a published decision the API made: \(decision)")
                    #expect(decision["arm"] as? String == answer["arm"] as? String)
                    #expect(decision["propensity"] as? Double == answer["propensity"] as? Double)
                    #expect(decision["strategy"] as? String == answer["strategy"] as? String)
                    #expect(decision["tenant"] as? String == "acme")
                    #expect(decision["experiment"] as? String == "pub")
                    #expect(decision["seed"] as? String != nil && decision["created_at"] as? String != nil)
                    let eligible = decision["eligible_arms"] as? [String] ?? []
                    #expect(eligible == ["a", "b", "c"] || eligible == ["b", "c"])
                }
                #expect(Set(published.compactMap { $0["unit_id"] as? String }) == ["u0", "u2", "u4", "u6", "u8"])
            }
        }
    }
}
