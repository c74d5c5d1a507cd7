import Engine
import JSON
import Storage
import Testing
import TestSupport

@Suite("Experiments: created, changed and refused without a trace")
struct ExperimentTests {
    @Test("an experiment is created with its arms and strategies, and survives a restart")
    func create() async throws {
        try await EngineFixture.with { fixture in
            let info = try await fixture.createExperiment(strategies: [
                StrategySetup(plugin: "thompson", weight: 3), StrategySetup(name: "greedy", plugin: "epsilon-greedy", config: #"{"epsilon": 0.2}"#),
            ])
            #expect(info.arms == ["a", "b", "c"])
            #expect(info.strategies.map(\.name) == ["thompson", "greedy"])
            #expect(info.strategies.map(\.trafficShare) == [0.75, 0.25])
            #expect(info.strategies[1].config == #"{"epsilon":0.2}"#)
            try await fixture.restart()
            let restored = try fixture.engine.experiment(tenant: fixture.tenant, key: "summarize")
            #expect(restored.arms == info.arms)
            #expect(restored.strategies.map(\.name) == ["thompson", "greedy"])
            #expect(restored.strategies.map(\.weight) == [3, 1])
        }
    }

    @Test("bad definitions are refused and nothing is written")
    func refused() async throws {
        try await EngineFixture.with { fixture in
            let engine = fixture.engine
            func expectRefused(_ definition: ExperimentDefinition, _ check: (EngineError) -> Bool) async {
                do {
                    _ = try await engine.createExperiment(tenant: fixture.tenant, definition)
                    Issue.record("\(definition.key) was accepted")
                } catch {
                    #expect(check(error), "\(error)")
                }
            }
            let thompson = [StrategySetup(plugin: "thompson")]
            await expectRefused(ExperimentDefinition(key: "x", arms: [], strategies: thompson)) { if case .invalid(InputPath(.arms), _) = $0 { true } else { false } }
            await expectRefused(ExperimentDefinition(key: "x", arms: ["a", "a"], strategies: thompson)) {
                $0.description.contains("listed twice") && $0 == .invalid(at: InputPath(.arms, 1), $0.description)
            }
            await expectRefused(ExperimentDefinition(key: "x", arms: (0..<1025).map { "arm\($0)" }, strategies: thompson)) { $0.description.contains("at most 1024 arms") }
            await expectRefused(ExperimentDefinition(key: "x", arms: ["a\n"], strategies: thompson)) { $0.description.contains("control character") }
            await expectRefused(ExperimentDefinition(key: "", arms: ["a"], strategies: thompson)) { if case .invalid(InputPath(.key), _) = $0 { true } else { false } }
            await expectRefused(ExperimentDefinition(key: "x", arms: ["a"], strategies: [])) { $0.description.contains("at least one strategy") }
            await expectRefused(ExperimentDefinition(key: "x", arms: ["a"], strategies: [StrategySetup(plugin: "nonesuch")])) {
                $0.description.contains("plugin 'nonesuch' is not loaded") && $0 == .conflict(at: InputPath(.strategies, 0, .plugin), $0.description)
            }
            await expectRefused(ExperimentDefinition(key: "x", arms: ["a"], strategies: [StrategySetup(plugin: "epsilon-greedy", config: #"{"epsilon": 2}"#)])) {
                $0.description.contains("parameter 'epsilon' must be <= 1, got 2") && $0 == .conflict(at: InputPath(.strategies, 0, .config), $0.description)
            }
            await expectRefused(ExperimentDefinition(key: "x", arms: ["a"], strategies: [StrategySetup(plugin: "thompson", weight: 0)])) { $0.description.contains("weight above 0") }
            await expectRefused(ExperimentDefinition(key: "x", arms: ["a"], strategies: [StrategySetup(plugin: "thompson", config: "[1]")])) { $0.description.contains("config must be a JSON object") }
            #expect(try engine.experiments(tenant: fixture.tenant).items.isEmpty)
            let store = try fixture.store()
            #expect(try store.experiments().isEmpty)
            #expect(try store.arms().isEmpty)
            #expect(try store.strategies().isEmpty)

            try await fixture.createExperiment("x")
            await expectRefused(ExperimentDefinition(key: "x", arms: ["a"], strategies: thompson)) { $0 == .experimentExists("x") }
        }
    }

    @Test("arms added later join every strategy without losing what was learned")
    func addArms() async throws {
        try await EngineFixture.with { fixture in
            try await fixture.createExperiment(strategies: [StrategySetup(plugin: "thompson"), StrategySetup(plugin: "ucb", weight: 0)])
            try await fixture.learn(count: 30)
            let before = try #require(try fixture.engine.inspect(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson")?.objectValue?["arms"]?.arrayValue)
            let info = try await fixture.engine.updateExperiment(tenant: fixture.tenant, experiment: "summarize", ExperimentUpdate(addArms: ["d"]))
            #expect(info.arms == ["a", "b", "c", "d"])
            let after = try #require(try fixture.engine.inspect(tenant: fixture.tenant, experiment: "summarize", strategy: "thompson")?.objectValue?["arms"]?.arrayValue)
            #expect(after.count == 4)
            #expect(Array(after.prefix(3)) == before, "the old arms' posteriors are unchanged")
            let decision = try await fixture.engine.decide(tenant: fixture.tenant, experiment: "summarize", eligible: ["d"])
            #expect(decision.arm == "d")
            // UCB (no traffic) got the arm too: it learns it once traffic moves to it.
            _ = try await fixture.engine.updateExperiment(tenant: fixture.tenant, experiment: "summarize", ExperimentUpdate(
                strategies: [StrategySetup(plugin: "ucb", weight: 1), StrategySetup(plugin: "thompson", weight: 0)]))
            #expect(try await fixture.engine.decide(tenant: fixture.tenant, experiment: "summarize", eligible: ["d", "a"]).strategy == "ucb")
            await #expect(throws: EngineError.self) {
                _ = try await fixture.engine.updateExperiment(tenant: fixture.tenant, experiment: "summarize", ExperimentUpdate(addArms: ["a"]))
            }
            try await fixture.restart()
            #expect(try fixture.engine.experiment(tenant: fixture.tenant, key: "summarize").arms == ["a", "b", "c", "d"])
        }
    }

    @Test("archived experiments take no decisions")
    func archive() async throws {
        try await EngineFixture.with { fixture in
            try await fixture.createExperiment()
            _ = try await fixture.engine.updateExperiment(tenant: fixture.tenant, experiment: "summarize", ExperimentUpdate(status: .archived))
            await #expect(throws: EngineError.experimentArchived("summarize")) {
                try await fixture.engine.decide(tenant: fixture.tenant, experiment: "summarize")
            }
            try await fixture.restart()
            #expect(try fixture.engine.experiment(tenant: fixture.tenant, key: "summarize").status == .archived)
        }
    }

    @Test("a bad strategy change is refused and changes nothing")
    func refusedUpdate() async throws {
        try await EngineFixture.with { fixture in
            try await fixture.createExperiment(strategies: [StrategySetup(plugin: "epsilon-greedy")])
            await #expect(throws: EngineError.self) {
                _ = try await fixture.engine.updateExperiment(tenant: fixture.tenant, experiment: "summarize", ExperimentUpdate(
                    addArms: ["d"], strategies: [StrategySetup(plugin: "epsilon-greedy", config: #"{"epsilon": 3}"#)]))
            }
            let info = try fixture.engine.experiment(tenant: fixture.tenant, key: "summarize")
            #expect(info.arms == ["a", "b", "c"], "the arm of the refused update was not added")
            #expect(info.strategies[0].config == "{}")
            #expect(try fixture.store().arms().count == 3)
        }
    }
}
