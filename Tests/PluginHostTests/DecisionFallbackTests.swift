import PluginHost
import Testing
import TestSupport

@Suite("Decision faults: a misbehaving plugin never corrupts a decision")
struct DecisionFallbackTests {
    /// Builds a fixture whose select misbehaves in one way and returns an instance.
    func faultyInstance(_ mode: Int, arms: Int = 5) throws -> (StrategyInstance, TemporaryDirectory) {
        let directory = try TemporaryDirectory()
        let path = try FixturePlugins.build("faulty\(mode)", in: directory, ["FIXTURE_SELECT=\(mode)", "FIXTURE_NAME=\"faulty\(mode)\""])
        let plugin = try #require(FixturePlugins.load(path).plugin)
        return (try plugin.makeInstance(armCount: arms), directory)
    }

    @Test("an arm outside the eligible set becomes a flagged uniform fallback", arguments: [
        (1, "was not eligible"), (2, "propensity nan"), (3, "fixture select always fails"),
    ])
    func fallback(mode: Int, expected: String) throws {
        let (instance, directory) = try faultyInstance(mode)
        defer { directory.remove() }
        let eligible: [UInt32] = [1, 3, 4]
        var chosen = Set<UInt32>()
        for seed in 0..<UInt64(200) {
            let decision = try instance.select(eligible: eligible, seed: seed)
            let reason = try #require(decision.fallback)
            #expect(reason.description.contains(expected))
            #expect(eligible.contains(decision.arm))
            #expect(decision.propensity == 1.0 / 3.0)
            chosen.insert(decision.arm)
            // The fallback is a pure function of the seed too.
            #expect(try instance.select(eligible: eligible, seed: seed).arm == decision.arm)
        }
        #expect(chosen == Set(eligible), "the uniform fallback reaches every eligible arm")
        #expect(instance.plugin.faults == 400)
        // The instance stays usable: feedback and serialization still work.
        try instance.update([FeedbackRecord(arm: 1, reward: 1)])
        #expect(try instance.serialize().count > 20)
    }

    @Test("a well-behaved plugin's decisions pass unflagged")
    func noFallback() throws {
        let (instance, directory) = try faultyInstance(0)
        defer { directory.remove() }
        let decision = try instance.select(eligible: [3, 1], seed: 9)
        #expect(decision.fallback == nil)
        #expect(decision.arm == 3)
        #expect(instance.plugin.faults == 0)
    }

    @Test("bad eligible sets are refused by the host before any plugin call")
    func invalidEligible() throws {
        let (instance, directory) = try faultyInstance(3)
        defer { directory.remove() }
        #expect(throws: InvalidRequest.self) { try instance.select(eligible: [], seed: 1) }
        #expect(throws: InvalidRequest.self) { try instance.select(eligible: [5], seed: 1) }
        #expect(throws: InvalidRequest.self) { try instance.select(eligible: [1, 2, 1], seed: 1) }
        #expect(instance.plugin.faults == 0, "the plugin was never called")
    }

    @Test("duplicate and out-of-range arms are found beyond 64 arms too")
    func invalidEligibleManyArms() throws {
        let (instance, directory) = try faultyInstance(0, arms: 300)
        defer { directory.remove() }
        #expect(throws: InvalidRequest.self) { try instance.select(eligible: [299, 7, 299], seed: 1) }
        #expect(throws: InvalidRequest.self) { try instance.select(eligible: [300], seed: 1) }
        // The scratch set is clean again after a refusal.
        #expect(try instance.select(eligible: [299, 7], seed: 1).arm == 299)
    }
}
