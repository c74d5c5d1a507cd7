import Engine
import Foundation
import JSON
import Storage
import Testing
import TestSupport

@Suite("Versions: saved, restored byte for byte, rolled back")
struct VersionTests {
    @Test("versions are saved every N events, on demand and at shutdown")
    func saving() async throws {
        try await EngineFixture.with(configure: { $0.snapshotEveryEvents = 50 }) { fixture in
            try await fixture.createExperiment()
            try await fixture.learn(count: 120, chunk: 40)
            var versions = try fixture.engine.versions(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson").items
            #expect(versions.count >= 1)
            #expect(versions.allSatisfy { $0.reason == .periodic })
            #expect(versions.first?.status == .active)
            #expect(versions.dropFirst().allSatisfy { $0.status == .archived })

            let written = try await fixture.engine.saveVersions(tenant: fixture.tenant)
            try #require(written.count == 1)
            #expect(written[0].reason == .onDemand)
            #expect(written[0].watermark == 120)
            #expect(try await fixture.engine.saveVersions(tenant: fixture.tenant).isEmpty, "nothing new to save")

            try await fixture.learn(count: 5, prefix: "more")
            try await fixture.restart()
            versions = try fixture.engine.versions(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson").items
            #expect(versions.first?.reason == .shutdown)
            #expect(versions.first?.watermark == 125)
            #expect(versions.first?.checksum.hasPrefix("fnv1a64:") == true)
        }
    }

    @Test("a restart restores the state byte for byte, from a version plus the events after it", arguments: ["thompson", "epsilon-greedy", "ucb"])
    func exactRecovery(plugin: String) async throws {
        try await EngineFixture.with(configure: { $0.snapshotEveryEvents = 70 }) { fixture in
            try await fixture.createExperiment(strategies: [StrategySetup(plugin: plugin, config: plugin == "thompson" ? #"{"discount": 0.99}"# : "{}")])
            try await fixture.learn(count: 200, chunk: 30)
            let before = try fixture.engine.currentState(tenant: fixture.tenant, experiment: "summarize", strategy: plugin)
            // A crash: no shutdown save, so the newest events come back by replay.
            let old = try fixture.reopenWithoutShutdown()
            let after = try fixture.engine.currentState(tenant: fixture.tenant, experiment: "summarize", strategy: plugin)
            #expect(after == before)
            #expect(try old.currentState(tenant: fixture.tenant, experiment: "summarize", strategy: plugin) == before)
            let info = try fixture.engine.experiment(tenant: fixture.tenant, key: "summarize")
            #expect(info.strategies[0].appliedThrough == 200)
            #expect(info.strategies[0].activeVersion >= 2, "periodic versions were written after 90 and 180 events")
        }
    }

    @Test("rollback re-activates an old version at once, is recorded, and survives a restart")
    func rollback() async throws {
        try await EngineFixture.with { fixture in
            try await fixture.createExperiment()
            try await fixture.learn(count: 30)
            let v1 = try #require(try await fixture.engine.saveVersions(tenant: fixture.tenant).first)
            let stateAtV1 = try fixture.engine.currentState(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson")
            try await fixture.learn(count: 30, prefix: "second")
            _ = try await fixture.engine.saveVersions(tenant: fixture.tenant)
            try await fixture.learn(count: 10, prefix: "third")
            #expect(try fixture.engine.currentState(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson") != stateAtV1)

            let rolled = try await fixture.engine.rollback(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson", to: v1.version)
            #expect(rolled.version == 3)
            #expect(rolled.reason == .rollback)
            #expect(rolled.restoredFrom == 1)
            #expect(rolled.watermark == 70)
            #expect(try fixture.engine.currentState(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson") == stateAtV1)
            let versions = try fixture.engine.versions(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson").items
            #expect(versions.map(\.status) == [.active, .rolledBack, .archived])

            _ = try fixture.reopenWithoutShutdown()
            #expect(try fixture.engine.currentState(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson") == stateAtV1,
                    "the discarded events are not replayed")
            await #expect(throws: EngineError.self) {
                _ = try await fixture.engine.rollback(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson", to: 99)
            }
        }
    }

    @Test("strategies of one experiment keep separate lineages: switching away and back resumes each")
    func separateLineages() async throws {
        try await EngineFixture.with { fixture in
            try await fixture.createExperiment(strategies: [StrategySetup(plugin: "thompson"), StrategySetup(plugin: "ucb", weight: 0)])
            try await fixture.learn(count: 40)
            let thompson = try fixture.engine.currentState(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson")
            func route(to strategy: String) async throws {
                _ = try await fixture.engine.updateExperiment(tenant: fixture.tenant, experiment: "summarize", ExperimentUpdate(strategies: [
                    StrategySetup(plugin: "thompson", weight: strategy == "thompson" ? 1 : 0),
                    StrategySetup(plugin: "ucb", weight: strategy == "ucb" ? 1 : 0),
                ]))
            }
            try await route(to: "ucb")
            try await fixture.learn(count: 40, prefix: "ucb")
            try await fixture.restart()
            #expect(try fixture.engine.currentState(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson") == thompson)
            try await route(to: "thompson")
            #expect(try await fixture.engine.decide(tenant: fixture.tenant, experiment: "summarize").strategy == "thompson")
            let ucbVersions = try fixture.engine.versions(tenant: fixture.tenant, experiment: "summarize", strategy: "ucb").items
            let thompsonVersions = try fixture.engine.versions(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson").items
            #expect(ucbVersions.first?.watermark == 80)
            #expect(thompsonVersions.first?.watermark == 40)
        }
    }

    @Test("new parameters keep the learned state and are saved as a version")
    func reconfigure() async throws {
        try await EngineFixture.with { fixture in
            try await fixture.createExperiment(arms: ["a"])
            try await fixture.learn(count: 10)
            _ = try await fixture.engine.updateExperiment(tenant: fixture.tenant, experiment: "summarize", ExperimentUpdate(
                strategies: [StrategySetup(plugin: "thompson", config: #"{"prior_alpha": 5}"#)]))
            let summary = try #require(try fixture.engine.inspect(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson"))
            let arm = summary.objectValue?["arms"]?.arrayValue?.first?.objectValue
            #expect(arm?["alpha"] == .number(15) && arm?["beta"] == .number(1), "10 successes on top of the new prior of 5")
            let versions = try fixture.engine.versions(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson").items
            #expect(versions.first?.reason == .configuration)
            #expect(versions.first?.config == #"{"prior_alpha":5}"#)
            _ = try fixture.reopenWithoutShutdown()
            #expect(try fixture.engine.inspect(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson") == summary)
        }
    }
}
