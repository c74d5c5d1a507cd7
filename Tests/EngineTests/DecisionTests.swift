import Engine
import Foundation
import PluginHost
import Storage
import Testing
import TestSupport

@Suite("Decisions: logged with everything needed to replay them")
struct DecisionTests {
    @Test("a decision names an eligible arm, its propensity, strategy and version, and is logged")
    func decide() async throws {
        try await EngineFixture.with { fixture in
            try await fixture.createExperiment(arms: ["a", "b", "c", "d"])
            let decision = try await fixture.engine.decide(tenant: fixture.tenant, experiment: "summarize", eligible: ["d", "b"],
                                                     context: [0.5, 1], unitID: "user-7", scores: true)
            #expect(["d", "b"].contains(decision.arm))
            #expect(decision.propensity > 0 && decision.propensity <= 1)
            #expect(decision.strategy == "thompson")
            #expect(decision.modelVersion == 0)
            #expect(decision.scores?.map(\.arm) == ["d", "b"])
            // The log is written without any feedback.
            try await fixture.engine.flush()
            let logged = try #require(try fixture.store().decision(id: UInt64(decision.decisionID)!))
            #expect(logged.arm == decision.armIndex)
            #expect(logged.seed == decision.seed)
            #expect(logged.eligible == [3, 1])
            #expect(logged.context == [0.5, 1])
            #expect(logged.unitID == "user-7")
            #expect(logged.propensity == decision.propensity)
        }
    }

    @Test("a logged decision replays exactly from its state and seed")
    func replay() async throws {
        try await EngineFixture.with { fixture in
            try await fixture.createExperiment()
            try await fixture.learn(count: 50)
            let state = try fixture.engine.currentState(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson")
            let decision = try await fixture.engine.decide(tenant: fixture.tenant, experiment: "summarize")
            let replayed = try FirstPartyPlugins.plugin("thompson").restoreInstance(state: state)
                .select(eligible: [0, 1, 2], seed: decision.seed)
            #expect(Int(replayed.arm) == decision.armIndex)
            #expect(replayed.propensity == decision.propensity)
        }
    }

    @Test("unknown experiments, arms and bad inputs are refused")
    func refused() async throws {
        try await EngineFixture.with { fixture in
            try await fixture.createExperiment()
            let engine = fixture.engine
            await #expect(throws: EngineError.unknownExperiment("nope")) { try await engine.decide(tenant: fixture.tenant, experiment: "nope") }
            await #expect(throws: EngineError.unknownTenant("other")) { try await engine.decide(tenant: "other", experiment: "summarize") }
            await #expect(throws: EngineError.self) { try await engine.decide(tenant: fixture.tenant, experiment: "summarize", eligible: ["zz"]) }
            await #expect(throws: EngineError.self) { try await engine.decide(tenant: fixture.tenant, experiment: "summarize", eligible: []) }
            await #expect(throws: EngineError.self) { try await engine.decide(tenant: fixture.tenant, experiment: "summarize", eligible: ["a", "a"]) }
            await #expect(throws: EngineError.self) { try await engine.decide(tenant: fixture.tenant, experiment: "summarize", context: [.nan]) }
            await #expect(throws: EngineError.self) { try await engine.decide(tenant: fixture.tenant, experiment: "summarize", unitID: "") }
        }
    }

    @Test("decision ids are never reused across restarts")
    func uniqueIDs() async throws {
        try await EngineFixture.with { fixture in
            try await fixture.createExperiment()
            var ids = Set<String>()
            for _ in 0..<3 {
                for _ in 0..<100 {
                    ids.insert(try await fixture.engine.decide(tenant: fixture.tenant, experiment: "summarize").decisionID)
                }
                _ = try fixture.reopenWithoutShutdown()
            }
            #expect(ids.count == 300)
        }
    }

    @Test("the traffic split follows the weights; sticky assignment keeps a unit on its strategy")
    func trafficSplit() async throws {
        try await EngineFixture.with { fixture in
            _ = try await fixture.engine.createExperiment(tenant: fixture.tenant, ExperimentDefinition(
                key: "ab", arms: ["a", "b"], strategies: [StrategySetup(plugin: "thompson", weight: 3), StrategySetup(plugin: "ucb", weight: 1)]))
            var counts: [String: Int] = [:]
            for _ in 0..<4_000 {
                let decision = try await fixture.engine.decide(tenant: fixture.tenant, experiment: "ab")
                counts[decision.strategy, default: 0] += 1
                #expect(decision.trafficShare == (decision.strategy == "thompson" ? 0.75 : 0.25))
            }
            // 75% expected; the standard error is 0.7%, the margin 3%.
            #expect(abs(Double(counts["thompson"]!) / 4_000 - 0.75) < 0.03)

            _ = try await fixture.engine.updateExperiment(tenant: fixture.tenant, experiment: "ab", ExperimentUpdate(assignment: .sticky))
            for unit in 0..<50 {
                let first = try await fixture.engine.decide(tenant: fixture.tenant, experiment: "ab", unitID: "unit-\(unit)").strategy
                for _ in 0..<5 {
                    #expect(try await fixture.engine.decide(tenant: fixture.tenant, experiment: "ab", unitID: "unit-\(unit)").strategy == first)
                }
            }
        }
    }
}
