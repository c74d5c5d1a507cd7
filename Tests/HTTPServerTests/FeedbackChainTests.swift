import Engine
import Foundation
import PluginHost
import Storage
import Testing
import TestSupport

/// The order the Kafka consumer's exactly-once rests on, at the engine: the
/// submissions of one chain are stored in the order queued, or not at all.
@Suite("Feedback chains: submissions stored in order, none past one that failed")
struct FeedbackChainTests {
    func submit(_ engine: Engine, _ events: [FeedbackEvent], chain: FeedbackChain?) async -> Result<[FeedbackOutcome], EngineError> {
        await withCheckedContinuation { continuation in
            do throws(EngineError) {
                try engine.submitFeedback(tenant: "acme", engine.prepareFeedback(events), offsets: [], chain: chain) {
                    continuation.resume(returning: $0)
                }
            } catch {
                continuation.resume(returning: .failure(error))
            }
        }
    }

    @Test("once a submission of a chain fails (the disk full), a later one fails unwritten even with space back, until the chain is resumed; then both are stored, in order")
    func failedSubmissionHoldsTheChain() async throws {
        let disk = try SmallDisk("arbiter-chain-small-disk")
        defer { disk.remove() }
        var configuration = EngineConfiguration(dataDirectory: disk.file("data"))
        configuration.batchMaxWait = .milliseconds(1)
        configuration.decisionFlushInterval = .milliseconds(5)
        let engine = try Engine.open(configuration: configuration, catalog: FirstPartyPlugins.catalog)
        do {
            _ = try await engine.ensureTenant("acme")
            _ = try await engine.createExperiment(tenant: "acme", ExperimentDefinition(key: "chain", arms: ["a", "b"],
                                                                                   strategies: [StrategySetup(plugin: "thompson")]))
            var decisions: [String] = []
            for _ in 0..<20 { decisions.append(try await engine.decide(tenant: "acme", experiment: "chain").decisionID) }
            // Decisions written (feedback for one of them commits them).
            _ = try await engine.recordFeedback(tenant: "acme", [FeedbackEvent(eventID: "first", decisionID: decisions[0], reward: 1)])

            let chain = FeedbackChain()
            func events(_ name: String) -> [FeedbackEvent] {
                (0..<20).map { FeedbackEvent(eventID: "\(name)-\($0)", decisionID: decisions[$0], reward: Double($0 % 2)) }
            }
            // The disk full (again after each batch that still found room
            // in the log's file): until a batch of the chain fails.
            var failed: String?
            for attempt in 0..<200 where failed == nil {
                try disk.fill()
                if case .failure(let error) = await submit(engine, events("a\(attempt)"), chain: chain) {
                    guard case .diskFull = error else { Issue.record("a write on a full disk fails as diskFull, not \(error)"); break }
                    failed = "a\(attempt)"
                }
            }
            let first = try #require(failed, "a batch fails once the disk is full")

            // Space back: feedback outside the chain is stored again.
            try disk.free()
            var probe = 0
            let deadline = ContinuousClock.now + .seconds(30)
            while ContinuousClock.now < deadline {
                probe += 1
                if case .success = await submit(engine, [FeedbackEvent(eventID: "probe-\(probe)", decisionID: decisions[1], reward: 1)], chain: nil) { break }
                try await Task.sleep(for: .milliseconds(100))
            }
            #expect(ContinuousClock.now < deadline, "the engine takes feedback again once space returns")

            // The chain's next submission is not written ahead of the failed one.
            let refused = await submit(engine, events("b"), chain: chain)
            guard case .failure(.overloaded) = refused else {
                Issue.record("a submission after a failed one of its chain is refused, not \(refused)")
                await engine.shutdown()
                return
            }
            var stored: [String] = []
            let store = try Store(path: configuration.databasePath, migrate: false)
            try store.forEachEvent(after: 0) { stored.append($0.eventID) }
            #expect(!stored.contains { $0.hasPrefix("b-") || $0.hasPrefix("\(first)-") })

            // Resumed: the failed one, then the later one, both stored, in that order.
            chain.resume()
            let again = try await submit(engine, events(first), chain: chain).get()
            let later = try await submit(engine, events("b"), chain: chain).get()
            #expect(again.allSatisfy { $0.status == .accepted } && later.allSatisfy { $0.status == .accepted })
            stored = []
            try store.forEachEvent(after: 0) { stored.append($0.eventID) }
            let firstAt = try #require(stored.firstIndex(of: "\(first)-0"))
            let laterAt = try #require(stored.firstIndex(of: "b-0"))
            #expect(firstAt < laterAt)
            #expect(Set(stored).count == stored.count, "every event once")
        } catch {
            await engine.shutdown()
            throw error
        }
        await engine.shutdown()
    }
}
