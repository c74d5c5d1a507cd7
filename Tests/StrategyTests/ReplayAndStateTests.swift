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
        #expect(state[8] == 2, "state format version 2")
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
        expectRefused(newer, mentioning: "state format version 99 is not readable by thompson 1.1.0")
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

    @Test("Thompson sampling: the state is the same whatever the feedback batches (the propensity's refresh point moves per record)",
          arguments: ["{}", #"{"discount": 0.99}"#, #"{"propensity_refresh": 0.05}"#])
    func batchIndependence(config: String) throws {
        let thompson = FirstPartyPlugins.plugin("thompson")
        let records = feedback(arms: 5, count: 3_000, seed: 21)
        let whole = try thompson.makeInstance(config: config, armCount: 5)
        try whole.update(records)
        let pieces = try thompson.makeInstance(config: config, armCount: 5)
        var start = 0
        var sizes = SeedSequence(seed: 4)
        while start < records.count {
            let end = min(records.count, start + 1 + Int(sizes.next() % 97))
            try pieces.update(Array(records[start..<end]))
            start = end
        }
        #expect(try whole.serialize() == pieces.serialize())
        let eligible: [UInt32] = [0, 1, 2, 3, 4]
        #expect(try whole.select(eligible: eligible, seed: 9) == pieces.select(eligible: eligible, seed: 9))
    }

    @Test("Thompson sampling: the propensity is estimated for the refresh point, which follows the evidence within propensity_refresh")
    func propensityRefresh() throws {
        let thompson = FirstPartyPlugins.plugin("thompson")
        let eligible: [UInt32] = [0, 1, 2]
        let lagging = try thompson.makeInstance(config: #"{"propensity_refresh": 0.2}"#, armCount: 3)
        let exact = try thompson.makeInstance(config: #"{"propensity_refresh": 0}"#, armCount: 3)
        // Three arms paying alike: the propensities stay well inside (0, 1).
        func even(_ count: Int, seed: UInt64) -> [FeedbackRecord] {
            var seeds = SeedSequence(seed: seed)
            return (0..<count).map { _ in
                FeedbackRecord(arm: UInt32(seeds.next() % 3), reward: SeedSequence.unit(seeds.next()) < 0.5 ? 1 : 0)
            }
        }
        let history = even(300, seed: 31)
        try lagging.update(history)
        try exact.update(history)
        let seed: UInt64 = 77
        let before = try lagging.select(eligible: eligible, seed: seed).propensity
        // A few more records move the evidence by far less than 20% of its
        // total: the lagging estimate stays, the exact one moves.
        let more = even(30, seed: 32)
        let exactBefore = try exact.select(eligible: eligible, seed: seed).propensity
        try lagging.update(more)
        try exact.update(more)
        #expect(try lagging.select(eligible: eligible, seed: seed).propensity == before, "refresh point not moved: same estimate")
        #expect(try exact.select(eligible: eligible, seed: seed).propensity != exactBefore, "refresh 0: estimate follows every record")
        // Enough records to pass 20% of the total move the refresh point.
        try lagging.update(even(1_000, seed: 33))
        #expect(try lagging.select(eligible: eligible, seed: seed).propensity != before)
    }

    @Test("Thompson sampling reads the states of format 1 (evidence only), as older builds wrote them")
    func formatOne() throws {
        let thompson = FirstPartyPlugins.plugin("thompson")
        let instance = try thompson.makeInstance(armCount: 3)
        try instance.update(feedback(arms: 3, count: 100, seed: 41))
        let current = try instance.serialize()
        // Format 1: the envelope with format version 1, and a payload of the
        // arm count, the successes and the failures only.
        let name = "thompson".utf8.count
        let payloadLength = 4 + 2 * 8 * 3
        var old = Array(current[0..<(20 + name + payloadLength)])
        old[8] = 1
        for byte in 0..<8 { old[12 + byte] = UInt8(truncatingIfNeeded: UInt64(payloadLength) >> (8 * UInt64(byte))) }
        let restored = try thompson.restoreInstance(state: old)
        #expect(restored.armCount == 3)
        #expect(try restored.inspect() == instance.inspect(), "the same posterior")
        let written = try restored.serialize()
        #expect(written[8] == 2, "written back in the current format")
    }
}
