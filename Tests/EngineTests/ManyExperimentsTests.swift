@testable import Engine
import Foundation
import JSON
import Storage
import Testing
import TestSupport

@Suite("Many experiments: lists a page at a time, experiments in memory on use and out of it under a budget")
struct ManyExperimentsTests {
    @Test("the experiment list comes a page at a time, every experiment once, in creation order")
    func pages() async throws {
        try await EngineFixture.with { fixture in
            for index in 0..<250 {
                try await fixture.createExperiment(String(format: "task-%03d", index), arms: ["a", "b"])
            }
            var keys: [String] = []
            var cursor: String?
            var pages = 0
            repeat {
                let page = try fixture.engine.experiments(tenant: fixture.tenant, after: cursor, limit: 100)
                keys += page.items.map(\.key)
                cursor = page.next
                pages += 1
            } while cursor != nil && pages < 10
            #expect(pages == 3)
            #expect(keys == (0..<250).map { String(format: "task-%03d", $0) })
            #expect(throws: EngineError.self) { try fixture.engine.experiments(tenant: fixture.tenant, limit: 0) }
            #expect(throws: EngineError.self) { try fixture.engine.experiments(tenant: fixture.tenant, limit: 1_001) }
            #expect(throws: EngineError.self) { try fixture.engine.experiments(tenant: fixture.tenant, after: "x", limit: 10) }
        }
    }

    @Test("under a small memory budget experiments leave memory, what they learned saved, and come back on use with it")
    func eviction() async throws {
        // Room for about three experiments of three arms.
        try await EngineFixture.with(configure: { $0.residentMemoryBytes = 3 * ExperimentRuntime.estimate(arms: 3, strategies: 1) }) { fixture in
            var learned: [String: JSONValue] = [:]
            for index in 0..<20 {
                let key = "task-\(index)"
                try await fixture.createExperiment(key)
                try await fixture.learn(key, count: 20, prefix: "\(key)-")
                learned[key] = try fixture.engine.inspect(tenant: fixture.tenant, experiment: key, strategy: "thompson")
            }
            try await fixture.engine.flush()
            let footprint = fixture.engine.registry.residentFootprint
            #expect(footprint.count <= 4, "at most the budget (and the one in use) stays in memory: \(footprint)")
            #expect(fixture.engine.registry.experimentCount == 20, "every experiment stays known")
            let store = try fixture.store()
            let evictionVersions = try store.strategies().flatMap { try store.versions(strategyID: $0.id) }.filter { $0.reason == .eviction }
            #expect(evictionVersions.count >= 15, "what they learned was saved as they left memory")
            // Each comes back with exactly what it learned, and keeps learning.
            for (key, summary) in learned {
                #expect(try fixture.engine.inspect(tenant: fixture.tenant, experiment: key, strategy: "thompson") == summary, "\(key)")
            }
            try await fixture.learn("task-0", count: 5, prefix: "again-")
            let arms = try fixture.engine.armStatistics(tenant: fixture.tenant, experiment: "task-0")
            #expect(arms.map(\.stats.feedbackCount).reduce(0, +) == 25)
        }
    }

    @Test("the experiments used the longest ago leave memory first; those in use stay")
    func evictionOrder() async throws {
        // Room for about 60 experiments of three arms; 300 created, and ten
        // used between every two creations.
        let each = ExperimentRuntime.estimate(arms: 3, strategies: 1)
        try await EngineFixture.with(configure: { $0.residentMemoryBytes = 60 * each }) { fixture in
            let hot = (0..<10).map { "hot-\($0)" }
            for key in hot { _ = try await fixture.createExperiment(key) }
            for index in 0..<300 {
                _ = try await fixture.createExperiment("cold-\(index)")
                for key in hot { _ = try await fixture.engine.decide(tenant: fixture.tenant, experiment: key) }
                if index % 50 == 49 { try await fixture.engine.flush() }
            }
            try await fixture.engine.flush()
            let resident = Set(fixture.engine.registry.residentExperiments().map(\.key))
            let footprint = fixture.engine.registry.residentFootprint
            #expect(footprint.bytes <= 60 * each + each, "memory is back under the budget: \(footprint)")
            #expect(footprint.count >= 40, "a batch takes out no more than the budget needs: \(footprint)")
            #expect(hot.allSatisfy(resident.contains), "the ten in use stayed in memory: \(hot.filter { !resident.contains($0) })")
        }
    }

    @Test("a restart loads only the experiments with events to replay; the others load on first use")
    func lazyRestart() async throws {
        try await EngineFixture.with { fixture in
            for index in 0..<30 { try await fixture.createExperiment("task-\(index)") }
            try await fixture.learn("task-7", count: 40)
            try await fixture.restart()
            #expect(fixture.engine.registry.residentFootprint.count == 0, "a clean shutdown saved everything: nothing to load")
            #expect(fixture.engine.registry.experimentCount == 30)
            let decision = try await fixture.engine.decide(tenant: fixture.tenant, experiment: "task-7")
            #expect(decision.modelVersion > 0, "loaded from its saved version")
            #expect(fixture.engine.registry.residentFootprint.count == 1)

            // After a crash (no shutdown), the experiment with events after its
            // version is loaded and replayed at once.
            try await fixture.learn("task-3", count: 10, prefix: "crash-")
            _ = try fixture.reopenWithoutShutdown()
            #expect(fixture.engine.registry.residentFootprint.count == 1)
            let tenantID = try #require(fixture.engine.tenant(named: fixture.tenant)).id
            let id = try #require(fixture.engine.registry.experimentID(tenantID: tenantID, key: "task-3"))
            #expect(fixture.engine.registry.resident(id: id) != nil)
        }
    }
}
