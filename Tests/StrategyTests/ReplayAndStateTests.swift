import PluginHost
import Testing
import TestSupport

/// Strategies and configurations covered by the state and replay tests.
let everyStrategy: [(String, String)] = [
    ("thompson", "{}"), ("thompson", #"{"discount": 0.95}"#),
    ("epsilon-greedy", "{}"), ("epsilon-greedy", #"{"schedule": "decay"}"#),
    ("ucb", #"{"variant": "ucb1"}"#), ("ucb", #"{"variant": "ucb1-tuned"}"#), ("ucb", #"{"variant": "kl-ucb"}"#),
]

/// Seeded Bernoulli feedback for `arms` arms; arm i pays with probability (i + 1) / (arms + 1).
func feedback(arms: Int, count: Int, seed: UInt64) -> [FeedbackRecord] {
    var seeds = SeedSequence(seed: seed)
    return (0..<count).map { _ in
        let arm = Int(seeds.next() % UInt64(arms))
        let reward: Double = SeedSequence.unit(seeds.next()) < Double(arm + 1) / Double(arms + 1) ? 1 : 0
        return FeedbackRecord(arm: UInt32(arm), reward: reward)
    }
}

@Suite("Replay and state: decisions are pure functions of state and seed")
struct ReplayAndStateTests {
    @Test("the same seed gives the same decision, propensity and scores", arguments: everyStrategy)
    func replay(plugin: String, config: String) throws {
        let instance = try FirstPartyPlugins.plugin(plugin).makeInstance(config: config, armCount: 6)
        try instance.update(feedback(arms: 6, count: 300, seed: 3))
        let eligible: [UInt32] = [5, 0, 2, 3]
        for seed in 0..<UInt64(200) {
            let first = try instance.select(eligible: eligible, seed: seed, scores: true)
            let again = try instance.select(eligible: eligible, seed: seed, scores: true)
            #expect(first == again)
            #expect(first.fallback == nil)
            #expect(eligible.contains(first.arm))
            #expect(first.scores?.count == eligible.count)
        }
    }

    @Test("serialize, deserialize, and the next 1,000 decisions are identical", arguments: everyStrategy)
    func roundTrip(plugin: String, config: String) throws {
        let strategy = FirstPartyPlugins.plugin(plugin)
        let original = try strategy.makeInstance(config: config, armCount: 8)
        try original.update(feedback(arms: 8, count: 500, seed: 11))
        let state = try original.serialize()
        let restored = try strategy.restoreInstance(config: config, state: state)
        #expect(restored.armCount == 8)
        #expect(try restored.serialize() == state, "restored state is byte-identical")
        let eligible = (0..<UInt32(8)).map { $0 }
        var learning = feedback(arms: 8, count: 1000, seed: 12).makeIterator()
        for step in 0..<UInt64(1000) {
            let a = try original.select(eligible: eligible, seed: step)
            let b = try restored.select(eligible: eligible, seed: step)
            #expect(a == b)
            // Both keep learning identically from the same feedback.
            if step % 10 == 9, let next = learning.next() {
                try original.update([next])
                try restored.update([next])
            }
        }
        #expect(try original.serialize() == restored.serialize())
    }

    @Test("the envelope names the strategy and its state format")
    func envelope() throws {
        let state = try FirstPartyPlugins.plugin("thompson").makeInstance(armCount: 2).serialize()
        #expect(Array(state[0..<4]) == Array("ARBS".utf8))
        #expect(state[4] == 1 && state[5] == 0, "envelope version 1")
        #expect(state[6] == UInt8("thompson".utf8.count))
        #expect(state[8] == 1, "state format version 1")
        #expect(Array(state[20..<28]) == Array("thompson".utf8))
    }

    @Test("bad states are refused with a clear error")
    func badStates() throws {
        let thompson = FirstPartyPlugins.plugin("thompson")
        let good = try thompson.makeInstance(armCount: 3).serialize()
        func expectRefused(_ bytes: [UInt8], mentioning fragment: String) {
            #expect(performing: { try thompson.restoreInstance(state: bytes) }, throws: { error in
                let error = error as? PluginCallError
                return error?.status == 3 && error?.message.contains(fragment) == true
            })
        }
        expectRefused(Array("garbage that is long enough".utf8), mentioning: "ARBS magic")
        expectRefused(Array(good.dropLast(3)), mentioning: "lengths do not match")
        expectRefused([], mentioning: "shorter than the envelope header")
        var newer = good
        newer[8] = 99
        expectRefused(newer, mentioning: "state format version 99 is not readable by thompson 1.0.0")
        let ucbState = try FirstPartyPlugins.plugin("ucb").makeInstance(armCount: 3).serialize()
        expectRefused(ucbState, mentioning: "state belongs to strategy 'ucb', not 'thompson'")
        var corrupted = good
        // The first success count of the payload becomes a NaN.
        let payload = 20 + "thompson".utf8.count + 4
        corrupted.replaceSubrange(payload..<payload + 8, with: [0, 0, 0, 0, 0, 0, 0xF8, 0x7F])
        expectRefused(corrupted, mentioning: "invalid 'successes' value")
    }

    @Test("new arms join a live instance without losing what was learned", arguments: ["thompson", "epsilon-greedy", "ucb"])
    func addArms(plugin: String) throws {
        let instance = try FirstPartyPlugins.plugin(plugin).makeInstance(armCount: 3)
        try instance.update(feedback(arms: 3, count: 200, seed: 5))
        let before = try #require(try instance.inspect())
        try instance.addArms(2)
        #expect(instance.armCount == 5)
        let after = try #require(try instance.inspect())
        // The summaries of the three old arms are unchanged.
        let oldArms = before.split(separator: "}").prefix(3).joined(separator: "}")
        let oldArmsAfter = after.split(separator: "}").prefix(3).joined(separator: "}")
        #expect(oldArms == oldArmsAfter)
        let decision = try instance.select(eligible: [0, 1, 2, 3, 4], seed: 1)
        #expect(decision.fallback == nil)
        if plugin == "ucb" {
            #expect(decision.arm >= 3, "UCB tries arms without feedback first")
        }
    }
}
