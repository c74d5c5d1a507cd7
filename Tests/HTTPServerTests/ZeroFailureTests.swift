import Engine
import Foundation
import FoundationNetworking
import PluginHost
import SQLite
import Storage
import Synchronization
import Testing
import TestSupport

/// What the load saw: failed requests, and the feedback the server
/// acknowledged as accepted.
final class LoadRecord: Sendable {
    let failures = Mutex<[String]>([])
    let accepted = Mutex<[String]>([])
    let requests = Atomic<Int>(0)
    let stop = Atomic<Bool>(false)
}

@Suite("Zero failures while things change", .serialized)
struct ZeroFailureTests {
    /// A build of a first-party plugin with different bytes (a note appended
    /// after the ELF image, which the loader ignores): another build to
    /// upgrade to, as a rebuild would give.
    static func rebuild(_ library: String, into directory: TemporaryDirectory, as name: String, note: String) throws {
        var bytes = try Data(contentsOf: URL(fileURLWithPath: TestPaths.buildDirectory + "/" + library))
        bytes.append(Data("\n\(note)\n".utf8))
        try bytes.write(to: URL(fileURLWithPath: directory.file(name)))
    }

    @Test("decisions and feedback on several connections while weights, configs, rollbacks, reloads, an upgrade, a refused upgrade and a downgrade happen: no request fails, nothing acknowledged is lost, the state equals a replay")
    func changesUnderLoad() async throws {
        let plugins = try TemporaryDirectory("arbiter-zero-failure-plugins")
        defer { plugins.remove() }
        for library in ["libArbiterThompson.so", "libArbiterEpsilonGreedy.so", "libArbiterUCB.so"] {
            try FileManager.default.copyItem(atPath: TestPaths.buildDirectory + "/" + library, toPath: plugins.file(library))
        }
        try await TestServer.with(pluginDirectory: plugins.path) { server in
            #expect(try await server.post("/v1/experiments", #"{"key": "steady", "arms": ["a", "b", "c"], "strategy": "thompson"}"#,
                                          key: server.adminKey).status == 201)
            #expect(try await server.post("/v1/experiments", #"""
                {"key": "busy", "arms": ["a", "b", "c"], "strategies": [{"name": "ts", "plugin": "thompson"},
                 {"name": "eg", "plugin": "epsilon-greedy", "config": {"epsilon": 0.1}}]}
                """#, key: server.adminKey).status == 201)
            let record = LoadRecord()

            // The load: four connections, each deciding and answering.
            let load = (0..<4).map { worker in
                Task {
                    let session = URLSession(configuration: .ephemeral)
                    var sequence = 0
                    while !record.stop.load(ordering: .relaxed) {
                        sequence += 1
                        let key = sequence % 2 == 0 ? "steady" : "busy"
                        do {
                            let decision = try await server.post("/v1/experiments/\(key)/decide", "{}", key: server.key, session: session)
                            record.requests.add(1, ordering: .relaxed)
                            guard decision.status == 200, let id = decision.json["decision_id"] as? String else {
                                record.failures.withLock { $0.append("decide \(key): \(decision.status) \(decision.text)") }
                                continue
                            }
                            let eventID = "w\(worker)-\(sequence)"
                            let reward = (decision.json["arm"] as? String) == "a" ? 1 : 0
                            let feedback = try await server.post("/v1/feedback", #"{"events": [{"event_id": "\#(eventID)", "decision_id": "\#(id)", "reward": \#(reward)}]}"#,
                                                                 key: server.key, session: session)
                            record.requests.add(1, ordering: .relaxed)
                            let status = ((feedback.json["results"] as? [[String: Any]])?.first?["status"] as? String)
                            guard feedback.status == 200, status == "accepted" else {
                                record.failures.withLock { $0.append("feedback: \(feedback.status) \(feedback.text)") }
                                continue
                            }
                            record.accepted.withLock { $0.append(eventID) }
                        } catch {
                            record.failures.withLock { $0.append("\(key): \(error)") }
                        }
                    }
                }
            }

            // The changes, one after another, while the load runs.
            func change(_ method: String, _ path: String, _ body: String, expect status: Int = 200) async throws -> HTTPResult {
                try await Task.sleep(for: .milliseconds(150))
                let result = try await server.send(method, path, json: body, key: server.adminKey)
                #expect(result.status == status, "\(method) \(path): \(result.text)")
                return result
            }
            // The load is under way before the first change.
            while record.requests.load(ordering: .relaxed) < 20 { try await Task.sleep(for: .milliseconds(10)) }
            let beforeChanges = record.requests.load(ordering: .relaxed)
            _ = try await change("PATCH", "/v1/experiments/busy", #"{"strategies": [{"name": "eg", "plugin": "epsilon-greedy", "weight": 3}]}"#)
            _ = try await change("PATCH", "/v1/experiments/busy", #"{"strategies": [{"name": "eg", "plugin": "epsilon-greedy", "config": {"epsilon": 0.3}}]}"#)
            _ = try await server.engine.saveVersions(tenant: "acme", experiment: "busy")
            let versions = try await server.get("/v1/experiments/busy/strategies/ts/versions", key: server.key).json["versions"] as? [[String: Any]] ?? []
            let saved = try #require(versions.first?["version"] as? Int)
            _ = try await change("PATCH", "/v1/experiments/busy", #"{"strategies": [{"name": "ts", "plugin": "thompson", "weight": 2}]}"#)
            _ = try await change("POST", "/v1/experiments/busy/strategies/ts/rollback", #"{"version": \#(saved)}"#)
            _ = try await change("POST", "/v1/plugins/reload", "{}")  // nothing new: nothing changes
            let original = try #require(try await server.pluginVersions().first { $0["name"] as? String == "thompson" }?["sha256"] as? String)
            // An upgrade to another build.
            try Self.rebuild("libArbiterThompson.so", into: plugins, as: "libArbiterThompson-next.so", note: "next build")
            let upgrade = try await change("POST", "/v1/plugins/reload", "{}")
            #expect((upgrade.json["upgrades"] as? [[String: Any]])?.first?["outcome"] as? String == "upgraded", "\(upgrade.text)")
            #expect((upgrade.json["upgrades"] as? [[String: Any]])?.first?["moved"] as? Int == 2)
            // A refused upgrade: a build named thompson that cannot read Thompson's state.
            let impostor = plugins.file("libthompson-impostor.so")
            try CCompiler.buildLibrary(source: TestPaths.file("Tests/PluginHostTests/Fixtures/fixture_plugin.c"), output: impostor,
                                       defines: [#"FIXTURE_NAME="thompson""#, #"FIXTURE_VERSION="9.0.0""#])
            let refused = try await change("POST", "/v1/plugins/reload", "{}")
            #expect((refused.json["upgrades"] as? [[String: Any]])?.first?["outcome"] as? String == "refused", "\(refused.text)")
            // A downgrade to the first build.
            _ = try await change("POST", "/v1/plugins/thompson/activate", #"{"version": "1.1.0", "sha256": "\#(original)"}"#)
            _ = try await change("PATCH", "/v1/experiments/busy", #"{"strategies": [{"name": "eg", "plugin": "epsilon-greedy", "weight": 1}]}"#)
            let duringChanges = record.requests.load(ordering: .relaxed) - beforeChanges
            try await Task.sleep(for: .milliseconds(300))
            record.stop.store(true, ordering: .relaxed)
            for task in load { await task.value }

            let failures = record.failures.withLock { $0 }
            #expect(failures.isEmpty, "\(failures.count) failed requests, e.g. \(failures.prefix(3))")
            // (A count, not a rate: the machine may be slow; requests went on
            // between the changes.)
            #expect(duringChanges >= 40, "the load ran throughout the changes: \(duringChanges) requests")
            try await server.flush()

            // Nothing acknowledged is lost, nothing is stored twice.
            let store = try server.store()
            var stored: [String: Int] = [:]
            var events: [Int64: [FeedbackRecord]] = [:]
            try store.forEachEvent(after: 0) { event in
                stored[event.eventID, default: 0] += 1
                events[event.strategyID, default: []].append(FeedbackRecord(arm: UInt32(event.arm), reward: event.reward, weight: event.weight))
            }
            let accepted = record.accepted.withLock { $0 }
            #expect(accepted.allSatisfy { stored[$0] == 1 }, "every acknowledged event stored once")
            #expect(stored.count == accepted.count)

            // The steady experiment's state, moved by two upgrades, equals a
            // replay of its stored events from the start.
            let steady = try #require(try store.experiment(tenant: "acme", key: "steady"))
            let strategy = try #require(try store.strategies(experimentID: steady.id).first)
            let replay = try FirstPartyPlugins.plugin("thompson").makeInstance(armCount: 3)
            try replay.update(events[strategy.id] ?? [])
            let live = try server.engine.currentState(tenant: "acme", experiment: "steady", strategy: "thompson")
            #expect(try replay.serialize() == live, "the live state is a replay of the stored events")
            // The busy one (weights, configurations, a rollback): a restart,
            // which restores from its versions and replays the events after
            // them, gives back the live state byte for byte.
            let busy = try server.engine.currentState(tenant: "acme", experiment: "busy", strategy: "ts")
            let busyEG = try server.engine.currentState(tenant: "acme", experiment: "busy", strategy: "eg")
            var configuration = EngineConfiguration(dataDirectory: server.directory.path + "/copy")
            try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
            try store.database.execute("VACUUM INTO '\(configuration.databasePath)'")
            configuration.snapshotEveryEvents = 1_000_000
            let restarted = try Engine.open(configuration: configuration, catalog: FirstPartyPlugins.catalog)
            #expect(try restarted.currentState(tenant: "acme", experiment: "busy", strategy: "ts") == busy)
            #expect(try restarted.currentState(tenant: "acme", experiment: "busy", strategy: "eg") == busyEG)
            #expect(try restarted.currentState(tenant: "acme", experiment: "steady", strategy: "thompson") == live)
            await restarted.shutdown()
            print("zero-failure load: \(record.requests.load(ordering: .relaxed)) requests, \(accepted.count) events accepted")
        }
    }
}
