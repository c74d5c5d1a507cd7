import Assembly
import Engine
import Kafka
import Foundation
import Testing
import TestSupport

/// Several hosts on one feedback topic (Docs/kafka.md, "Several hosts").
@Suite("Kafka: several hosts on one topic hold the same state", .serialized)
struct KafkaScaleOutTests {
    /// Runs `body` with one started host per node id, each on its own data
    /// directory (or `dataDirectory`'s), consuming `cluster`'s topic "feedback".
    static func withHosts(_ nodes: [Int], cluster: MockKafkaCluster, dataDirectory: String? = nil,
                          _ body: ([TestServer]) async throws -> Void, started: [TestServer] = []) async throws {
        guard let node = nodes.first else { return try await body(started) }
        try await TestServer.with(configure: { configuration in
            if let dataDirectory { configuration.dataDirectory = dataDirectory }
            configuration.engine.nodeID = node
            configuration.kafka.brokers = cluster.address
            configuration.kafka.topics = ["feedback"]
            configuration.kafka.defaultTenant = "acme"
            configuration.kafka.properties = ["session.timeout.ms": "6000", "heartbeat.interval.ms": "500"]
        }) { server in
            try await withHosts(Array(nodes.dropFirst()), cluster: cluster, dataDirectory: dataDirectory, body, started: started + [server])
        }
    }

    /// Each strategy's live state checksum in experiment `key`, by strategy name.
    static func checksums(_ server: TestServer, _ key: String) async throws -> [String: String] {
        let strategies = try await server.get("/v1/experiments/\(key)", key: server.key).json["strategies"] as? [[String: Any]] ?? []
        var checksums: [String: String] = [:]
        for strategy in strategies {
            checksums[strategy["name"] as? String ?? ""] = strategy["state_checksum"] as? String
        }
        return checksums
    }

    /// The Kafka messages a host has consumed.
    static func messages(_ server: TestServer) async throws -> Int {
        (try await server.get("/api/learning/status", key: server.key).json["kafka"] as? [String: Any])?["messages"] as? Int ?? 0
    }

    /// Waits until every host consumed `count` messages and their states
    /// agree, or 60 s pass; returns each host's checksums of both experiments.
    static func converge(_ servers: [TestServer], messages count: Int) async throws -> [[String: String]] {
        let deadline = ContinuousClock.now + .seconds(60)
        while true {
            var states: [[String: String]] = []
            var consumed: [Int] = []
            for server in servers {
                states.append(try await checksums(server, "ab").merging(try await checksums(server, "solo")) { $1 })
                consumed.append(try await messages(server))
            }
            if (consumed.allSatisfy { $0 >= count } && Set(states).count == 1) || ContinuousClock.now > deadline { return states }
            try await Task.sleep(for: .milliseconds(200))
        }
    }

    @Test("a node id needs Kafka, is 1 to 255, and gives the host a consumer group of its own")
    func nodeSettings() throws {
        var configuration = HostConfiguration()
        try configuration.apply(environment: ["ARBITER_NODE_ID": "3"])
        #expect(throws: HostConfiguration.Invalid.self) { try configuration.checked() }
        try configuration.set("kafka_brokers", "127.0.0.1:9092", source: "test")
        #expect(try configuration.checked().effectiveKafka.groupID == "arbiter-node-3")
        #expect(configuration.kafka.groupID == "arbiter")
        #expect(throws: HostConfiguration.Invalid.self) { try configuration.set("node_id", "256", source: "test") }
        try configuration.set("node_id", "0", source: "test")
        #expect(configuration.effectiveKafka.groupID == "arbiter", "a host on its own keeps the group it was given")
    }

    @Test("three hosts: decisions spread over them, feedback produced to the topic carrying its decision's route; their states converge to the same checksums, and a host started later from a snapshot catches up")
    func convergeAndCatchUp() async throws {
        try await MockKafkaCluster.with { cluster in
            let snapshot = try TemporaryDirectory("arbiter-snapshot")
            defer { snapshot.remove() }
            try await Self.withHosts([1, 2, 3], cluster: cluster) { hosts in
                // The same experiments on every host: an A/B split of two
                // strategies whose updates depend on their order (running
                // means), and a second experiment of its own.
                for host in hosts {
                    let ab = try await host.post("/v1/experiments", #"{"key": "ab", "arms": ["a", "b", "c"], "strategies": [{"plugin": "thompson"}, {"plugin": "epsilon-greedy"}]}"#, key: host.adminKey)
                    #expect(ab.status == 201, "\(ab.text)")
                    try await host.createExperiment("solo", arms: ["x", "y"], strategy: "ucb")
                }
                let fresh = try await Self.checksums(hosts[0], "ab")
                #expect(fresh.count == 2 && fresh.values.allSatisfy { $0.hasPrefix("fnv1a64:") }, "\(fresh)")

                // A later host starts from a copy of host 1's database taken
                // now, while host 1 runs: the experiments, no feedback yet.
                let copy = try await Command.outcome(TestPaths.buildDirectory + "/arbiter",
                                               ["snapshot", "--data-dir", hosts[0].configuration.dataDirectory, "--into", snapshot.file("data")])
                #expect(copy.status == 0, "\(copy.error)")

                // Decisions spread over the hosts, as a load balancer would.
                var decisions: [(experiment: String, answer: [String: Any])] = []
                for index in 0..<120 {
                    let experiment = index % 4 == 3 ? "solo" : "ab"
                    let answer = try await hosts[index % 3].post("/v1/experiments/\(experiment)/decide", "{}", key: hosts[index % 3].key)
                    #expect(answer.status == 200)
                    decisions.append((experiment, answer.json))
                }
                // Node ids keep the hosts' decision ids apart (top 8 bits).
                let ids = decisions.compactMap { UInt64($0.answer["decision_id"] as? String ?? "") }
                #expect(Set(ids).count == 120)
                #expect(Set(ids.map { $0 >> 56 }) == [1, 2, 3])
                #expect(Set(decisions.compactMap { $0.answer["strategy"] as? String }) == ["thompson", "epsilon-greedy", "ucb"])

                // Feedback over HTTP would teach one host only: refused.
                let overHTTP = try await hosts[1].post("/v1/feedback", #"{"events": [{"event_id": "h", "decision_id": "\#(ids[1])", "reward": 1}]}"#, key: hosts[1].key)
                #expect(overHTTP.status == 409 && overHTTP.error["code"] as? String == "scale_out", "\(overHTTP.text)")

                // Feedback keyed by experiment (one partition each, so every
                // host reads an experiment's events in the same order), with
                // rewards whose order matters to a running mean.
                let lines = decisions.enumerated().map { index, decision in
                    let answer = decision.answer
                    return "\(decision.experiment)\u{1}{\"event_id\": \"e\(index)\", \"decision_id\": \"\(answer["decision_id"] as? String ?? "")\", \"reward\": \(Double((index * 7) % 10) / 10), \"experiment\": \"\(decision.experiment)\", \"strategy\": \"\(answer["strategy"] as? String ?? "")\", \"arm\": \"\(answer["arm"] as? String ?? "")\"}"
                }
                try cluster.produce(lines, to: "feedback")
                let states = try await Self.converge(hosts, messages: 120)
                #expect(Set(states).count == 1, "the hosts' states differ: \(states)")
                #expect(states[0].count == 3)
                #expect(states[0]["thompson"] != fresh["thompson"] && states[0]["epsilon-greedy"] != fresh["epsilon-greedy"], "they learned")
                for host in hosts {
                    let applied = try await host.get("/api/learning/status", key: host.key).json["kafka"] as? [String: Any] ?? [:]
                    #expect(applied["malformed"] as? Int == 0 && applied["dead_lettered"] as? Int == 0, "\(applied)")
                }

                // The later host, node 4, on the copy: it reads the topic
                // from the start (its own group, no offsets in the copy) and
                // reaches the same state; then all four learn what follows.
                try await Self.withHosts([4], cluster: cluster, dataDirectory: snapshot.file("data")) { late in
                    let caughtUp = try await Self.converge(hosts + late, messages: 120)
                    #expect(Set(caughtUp).count == 1, "the later host did not catch up: \(caughtUp)")
                    let more = try await late[0].post("/v1/experiments/ab/decide", "{}", key: late[0].key).json
                    #expect(UInt64(more["decision_id"] as? String ?? "").map { $0 >> 56 } == 4)
                    try cluster.produce(["ab\u{1}{\"event_id\": \"late\", \"decision_id\": \"\(more["decision_id"] as? String ?? "")\", \"reward\": 0.3, \"experiment\": \"ab\", \"strategy\": \"\(more["strategy"] as? String ?? "")\", \"arm\": \"\(more["arm"] as? String ?? "")\"}"],
                                        to: "feedback")
                    let after = try await Self.converge(hosts + late, messages: 121)
                    #expect(Set(after).count == 1, "\(after)")
                    #expect(after[0] != caughtUp[0], "the decision of the later host was learned by all")
                }
            }
        }
    }
}
