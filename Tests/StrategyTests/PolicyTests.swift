import PluginHost
import Testing
import TestSupport

@Suite("Each policy does what it says, including its propensity")
struct PolicyTests {
    @Test("epsilon-greedy: exact propensity, matched by the empirical frequency")
    func epsilonGreedyPropensity() throws {
        let instance = try FirstPartyPlugins.plugin("epsilon-greedy").makeInstance(config: #"{"epsilon": 0.2}"#, armCount: 5)
        try instance.update([FeedbackRecord(arm: 2, reward: 1), FeedbackRecord(arm: 0, reward: 0.5)])
        let draws = 20_000
        var greedy = 0
        for seed in 0..<UInt64(draws) {
            let decision = try instance.select(eligible: [0, 1, 2, 3, 4], seed: seed)
            if decision.arm == 2 {
                greedy += 1
                #expect(abs(decision.propensity - (0.2 / 5 + 0.8)) < 1e-12)
            } else {
                #expect(abs(decision.propensity - 0.2 / 5) < 1e-12)
            }
        }
        // 0.84 expected; the standard error is 0.0026, the margin 0.01 (about 4 standard errors).
        #expect(abs(Double(greedy) / Double(draws) - 0.84) < 0.01)
    }

    @Test("epsilon-greedy: a decaying epsilon shrinks with feedback")
    func epsilonDecay() throws {
        let instance = try FirstPartyPlugins.plugin("epsilon-greedy")
            .makeInstance(config: #"{"epsilon": 0.5, "schedule": "decay", "decay_rate": 0.1, "min_epsilon": 0.05}"#, armCount: 2)
        #expect(try instance.inspect()?.contains("\"epsilon\":0.5") == true)
        try instance.update(Array(repeating: FeedbackRecord(arm: 0, reward: 1), count: 10))
        #expect(try instance.inspect()?.contains("\"epsilon\":0.25") == true, "0.5 / (1 + 0.1 * 10)")
        try instance.update(Array(repeating: FeedbackRecord(arm: 0, reward: 1), count: 1000))
        #expect(try instance.inspect()?.contains("\"epsilon\":0.05") == true, "floored at min_epsilon")
    }

    @Test("ties are broken at random with the seed, never by index", arguments: ["epsilon-greedy", "ucb"])
    func tieBreaking(plugin: String) throws {
        let instance = try FirstPartyPlugins.plugin(plugin).makeInstance(armCount: 4)
        var counts = [Int](repeating: 0, count: 4)
        let draws = 8_000
        for seed in 0..<UInt64(draws) {
            let decision = try instance.select(eligible: [0, 1, 2, 3], seed: seed)
            counts[Int(decision.arm)] += 1
            #expect(abs(decision.propensity - 0.25) < 1e-12, "all four arms are tied")
        }
        // Each arm 25%; the standard error is 0.0048, the margin 0.025 (about 5 standard errors).
        for count in counts {
            #expect(abs(Double(count) / Double(draws) - 0.25) < 0.025)
        }
    }

    @Test("Thompson: the propensity estimate matches the frequency of choice")
    func thompsonPropensity() throws {
        let instance = try FirstPartyPlugins.plugin("thompson").makeInstance(armCount: 3)
        try instance.update([
            FeedbackRecord(arm: 0, reward: 1, weight: 6), FeedbackRecord(arm: 0, reward: 0, weight: 4),
            FeedbackRecord(arm: 1, reward: 1, weight: 5), FeedbackRecord(arm: 1, reward: 0, weight: 5),
            FeedbackRecord(arm: 2, reward: 1, weight: 2), FeedbackRecord(arm: 2, reward: 0, weight: 8),
        ])
        let draws = 20_000
        var counts = [Int](repeating: 0, count: 3)
        var propensity = [Double](repeating: 0, count: 3)
        for seed in 0..<UInt64(draws) {
            let decision = try instance.select(eligible: [0, 1, 2], seed: seed, scores: true)
            counts[Int(decision.arm)] += 1
            propensity[Int(decision.arm)] = decision.propensity
            let scores = try #require(decision.scores)
            #expect(scores.allSatisfy { $0 >= 0 && $0 <= 1 })
            #expect(scores.max() == scores[[0, 1, 2].firstIndex(of: Int(decision.arm))!], "the largest sample wins")
        }
        #expect(abs(propensity.reduce(0, +) - 1) < 1e-9)
        // The estimate uses 1,000 draws (standard error at most 0.016) and the
        // frequency 20,000 (at most 0.0035): a margin of 0.05 is about 3 of both.
        for arm in 0..<3 {
            #expect(abs(Double(counts[arm]) / Double(draws) - propensity[arm]) < 0.05)
        }
    }

    @Test("Thompson: fractional rewards and the discount shape the Beta posterior")
    func thompsonPosterior() throws {
        let plain = try FirstPartyPlugins.plugin("thompson").makeInstance(armCount: 2)
        try plain.update([FeedbackRecord(arm: 0, reward: 0.25)])
        #expect(try plain.inspect()?.contains(#"{"arm":0,"alpha":1.25,"beta":1.75"#) == true)

        let discounted = try FirstPartyPlugins.plugin("thompson")
            .makeInstance(config: #"{"discount": 0.5, "prior_alpha": 2, "prior_beta": 3}"#, armCount: 2)
        try discounted.update([FeedbackRecord(arm: 0, reward: 1, weight: 4), FeedbackRecord(arm: 1, reward: 0)])
        // Arm 0: 4 successes, halved by the second update: alpha = 2 + 2.
        let summary = try #require(try discounted.inspect())
        #expect(summary.contains(#"{"arm":0,"alpha":4,"beta":3"#))
        #expect(summary.contains(#"{"arm":1,"alpha":2,"beta":4"#))
    }

    @Test("UCB: arms without feedback first, then the highest index", arguments: ["ucb1", "ucb1-tuned", "kl-ucb"])
    func ucbOrder(variant: String) throws {
        let instance = try FirstPartyPlugins.plugin("ucb").makeInstance(config: "{\"variant\": \"\(variant)\"}", armCount: 3)
        try instance.update([FeedbackRecord(arm: 0, reward: 1), FeedbackRecord(arm: 1, reward: 0)])
        let first = try instance.select(eligible: [0, 1, 2], seed: 1, scores: true)
        #expect(first.arm == 2)
        #expect(first.propensity == 1)
        #expect(first.scores?[2] == .infinity)
        try instance.update([FeedbackRecord(arm: 2, reward: 0)])
        let decision = try instance.select(eligible: [0, 1, 2], seed: 1, scores: true)
        #expect(decision.arm == 0, "the arm that paid has the highest bound")
        let scores = try #require(decision.scores)
        #expect(scores[0] > scores[1] && scores[1] == scores[2])
    }

    @Test("only eligible arms are ever chosen", arguments: ["thompson", "epsilon-greedy", "ucb"])
    func eligibleSubset(plugin: String) throws {
        let instance = try FirstPartyPlugins.plugin(plugin).makeInstance(armCount: 10)
        try instance.update([FeedbackRecord(arm: 4, reward: 1)])
        for seed in 0..<UInt64(500) {
            let arm = try instance.select(eligible: [1, 7, 3], seed: seed).arm
            #expect([1, 7, 3].contains(arm))
        }
    }
}
