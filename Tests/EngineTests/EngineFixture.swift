import Engine
import Foundation
import PluginHost
import Storage
import TestSupport

/// An engine on a fresh database in a temporary directory, with the
/// first-party plugins and one tenant. Tests get one through `with`, which
/// shuts the engine down (awaited) and removes the directory before returning.
final class EngineFixture: @unchecked Sendable {
    let directory: TemporaryDirectory
    var configuration: EngineConfiguration
    private(set) var engine: Engine
    /// Engines opened on the same database without a shutdown (a crash's leftovers).
    private var abandoned: [Engine] = []
    let tenant = "acme"

    /// Runs `body` with a fresh engine, then shuts every engine of the
    /// fixture down and removes the directory.
    static func with<T>(configure: (inout EngineConfiguration) -> Void = { _ in },
                        _ body: (EngineFixture) async throws -> T) async throws -> T {
        let fixture = try await EngineFixture(configure)
        do {
            let result = try await body(fixture)
            await fixture.close()
            return result
        } catch {
            await fixture.close()
            throw error
        }
    }

    private init(_ configure: (inout EngineConfiguration) -> Void) async throws {
        directory = try TemporaryDirectory("arbiter-engine")
        configuration = EngineConfiguration(dataDirectory: directory.path)
        configuration.batchMaxWait = .milliseconds(1)
        configuration.decisionFlushInterval = .milliseconds(5)
        configure(&configuration)
        engine = try Engine.open(configuration: configuration, catalog: FirstPartyPlugins.catalog)
        _ = try await engine.ensureTenant(tenant)
    }

    private func close() async {
        await engine.shutdown()
        for old in abandoned { await old.shutdown() }
        directory.remove()
    }

    /// Shuts the engine down cleanly and opens a new one on the same database.
    func restart() async throws {
        await engine.shutdown()
        engine = try Engine.open(configuration: configuration, catalog: FirstPartyPlugins.catalog)
    }

    /// Opens a new engine on the same database without shutting the old one
    /// down: what a crash leaves behind (everything committed, nothing saved
    /// at shutdown). The old engine is returned so the caller can compare.
    func reopenWithoutShutdown() throws -> Engine {
        let old = engine
        abandoned.append(old)
        // A crashed process's lock on the data directory goes with it.
        old.directory.release()
        engine = try Engine.open(configuration: configuration, catalog: FirstPartyPlugins.catalog)
        return old
    }

    /// A direct connection to the database, for checking what was written.
    func store() throws -> Store {
        try Store(path: configuration.databasePath, migrate: false)
    }

    @discardableResult
    func createExperiment(_ key: String = "summarize", arms: [String] = ["a", "b", "c"],
                          strategies: [StrategySetup] = [StrategySetup(plugin: "thompson")]) async throws -> ExperimentInfo {
        try await engine.createExperiment(tenant: tenant, ExperimentDefinition(key: key, arms: arms, strategies: strategies))
    }

    /// Makes `count` decisions and sends feedback for each (reward 1 for arm
    /// "a", else 0), `chunk` events per request; returns the outcomes.
    @discardableResult
    func learn(_ key: String = "summarize", count: Int, prefix: String = "e", chunk: Int = 10_000) async throws -> [FeedbackOutcome] {
        var outcomes: [FeedbackOutcome] = []
        var events: [FeedbackEvent] = []
        for index in 0..<count {
            let decision = try await engine.decide(tenant: tenant, experiment: key)
            events.append(FeedbackEvent(eventID: "\(prefix)\(index)", decisionID: decision.decisionID,
                                        reward: decision.arm == "a" ? 1 : 0))
            if events.count == chunk || index == count - 1 {
                outcomes += try await engine.recordFeedback(tenant: tenant, events)
                events.removeAll()
            }
        }
        return outcomes
    }
}
