import Foundation
import FoundationNetworking
import PluginHost
import Synchronization
import Testing
import TestSupport

/// A plugin whose `select` sleeps 50 ms must not slow the other experiments'
/// decisions: requests are served on one cooperative thread per core, and a
/// slow strategy's selections leave them (see `Lineage+Selection`).
@Suite("Slow plugins")
struct SlowPluginTests {
    /// The fixture plugin, named "sleepy", sleeping 50 ms in every `select`.
    static func catalog(in directory: TemporaryDirectory) throws -> PluginCatalog {
        let sleepy = directory.file("libsleepy.so")
        try CCompiler.buildLibrary(source: TestPaths.file("Tests/PluginHostTests/Fixtures/fixture_plugin.c"), output: sleepy,
                                   defines: [#"FIXTURE_NAME="sleepy""#, "FIXTURE_SELECT_SLEEP_US=50000"])
        let catalog = PluginLoader().load(files: [TestPaths.buildDirectory + "/libArbiterThompson.so", sleepy])
        #expect(catalog.plugins.count == 2, "\(catalog.refused)")
        return catalog
    }

    /// A session of its own, with room for `connections` to the server.
    static func session(connections: Int) -> URLSession {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = connections
        return URLSession(configuration: configuration)
    }

    @Test("a select that sleeps 50 ms does not slow other experiments' decisions; its time is in /metrics")
    func sleepingSelect() async throws {
        let directory = try TemporaryDirectory("arbiter-sleepy")
        defer { directory.remove() }
        try await TestServer.with(catalog: try Self.catalog(in: directory)) { server in
            try await server.createExperiment("fast", arms: ["a", "b", "c"], strategy: "thompson")
            try await server.createExperiment("slow", arms: ["a", "b", "c"], strategy: "sleepy")
            let fastSession = Self.session(connections: 2)
            let slowSession = Self.session(connections: 8)

            /// Fast decisions made in `seconds` by two clients, one request
            /// in flight each; fails on any answer but 200.
            func fastDecisions(for seconds: Double) async throws -> Int {
                let end = ContinuousClock.now + .seconds(seconds)
                return try await withThrowingTaskGroup(of: Int.self) { group in
                    for _ in 0..<2 {
                        group.addTask {
                            var count = 0
                            while ContinuousClock.now < end {
                                let answer = try await server.post("/v1/experiments/fast/decide", "{}", key: server.key, session: fastSession)
                                guard answer.status == 200 else { throw TestServer.Failure(message: "fast: \(answer.status) \(answer.text)") }
                                count += 1
                            }
                            return count
                        }
                    }
                    return try await group.reduce(0, +)
                }
            }

            /// One round: fast decisions in 2 s alone, then in 2 s while
            /// eight clients keep a slow decision in flight each; and the
            /// statuses of the slow decisions.
            func round() async throws -> (alone: Int, withSlow: Int, slow: [Int]) {
                let alone = try await fastDecisions(for: 2)
                let shared = SlowClients()
                let withSlow: Int = try await withThrowingTaskGroup(of: Int?.self) { group in
                    for _ in 0..<8 {
                        group.addTask {
                            while !shared.stop.load(ordering: .relaxed) {
                                let answer = try await server.post("/v1/experiments/slow/decide", "{}", key: server.key, session: slowSession)
                                shared.answers.withLock { $0.append(answer.status) }
                            }
                            return nil
                        }
                    }
                    group.addTask {
                        try await Task.sleep(for: .milliseconds(300))
                        let count = try await fastDecisions(for: 2)
                        shared.stop.store(true, ordering: .relaxed)
                        return count
                    }
                    var fast = 0
                    for try await count in group { if let count { fast = count } }
                    return fast
                }
                return (alone, withSlow, shared.answers.withLock { $0 })
            }

            _ = try await fastDecisions(for: 0.5)  // warm up
            // Up to three rounds, stopping at the first that keeps half the
            // pace: the suite runs beside others on two shared cores, and a
            // round where another test's compiler took the machine measures
            // that (once: 16 fast decisions in 2 s "alone", against about
            // 2,700). With the isolation off, every round keeps well under a
            // tenth (14 against 2,426), so the test still fails then.
            var rounds: [(alone: Int, withSlow: Int, slow: [Int])] = []
            repeat {
                rounds.append(try await round())
            } while rounds.count < 3 && Double(rounds.last!.withSlow) < 0.5 * Double(rounds.last!.alone)
            let (alone, withSlow) = (rounds.last!.alone, rounds.last!.withSlow)
            let slow = rounds.flatMap(\.slow)
            let summary = rounds.map { "\($0.alone) alone, \($0.withSlow) beside the slow plugin, \($0.slow.count) slow" }.joined(separator: "; ")
            // 50 ms each, one at a time (one instance is never called
            // concurrently): about 20 a second, whatever the clients.
            #expect(slow.count >= 20 * rounds.count, "slow decisions were made: \(summary)")
            #expect(slow.allSatisfy { $0 == 200 }, "\(Set(slow))")
            // Stalled cooperative threads would leave a few fast decisions
            // (each waiting behind a 50 ms sleep); sharing the cores with the
            // slow clients costs some. Margin: at least half.
            #expect(Double(withSlow) >= 0.5 * Double(alone), "fast decisions in 2 s: \(summary)")
            let fastTotal = rounds.map { $0.alone + $0.withSlow }.reduce(0, +)

            // The plugin's time per call, in the histogram.
            let metrics = try await server.get("/metrics", key: nil).text
            func value(_ series: String) -> Double? {
                metrics.split(separator: "\n").first { $0.hasPrefix(series + " ") }.flatMap { Double($0.split(separator: " ").last!) }
            }
            let labels = #"plugin="sleepy",call="select""#
            let count = try #require(value("arbiter_plugin_call_seconds_count{\(labels)}"), "\(metrics)")
            #expect(count >= Double(slow.count), "every slow select counted")
            #expect(value(#"arbiter_plugin_call_seconds_bucket{\#(labels),le="0.01"}"#) == 0, "none under 10 ms")
            let sum = try #require(value("arbiter_plugin_call_seconds_sum{\(labels)}"))
            #expect(sum >= 0.05 * count, "at least 50 ms each: \(sum) s for \(count)")
            let fastCount = try #require(value(#"arbiter_plugin_call_seconds_count{plugin="thompson",call="select"}"#))
            #expect(fastCount >= Double(fastTotal))
        }
    }
}

/// What the slow clients share: when to stop, and the statuses they got.
final class SlowClients: Sendable {
    let stop = Atomic<Bool>(false)
    let answers = Mutex<[Int]>([])
}
