import PluginHost
import Testing
import TestSupport

/// ABI 1.1's probabilities: every eligible arm's chance of being chosen,
/// equal to the propensity select() reports and to the frequency of choice.
@Suite("Each strategy gives the probability of every eligible arm")
struct ProbabilityTests {
    /// Chooses `draws` times and returns each eligible arm's frequency, in
    /// the order of `eligible`, checking each decision's propensity against
    /// the probabilities.
    func frequencies(_ instance: StrategyInstance, eligible: [UInt32], probabilities: [Double], draws: Int) throws -> [Double] {
        var counts = [Int](repeating: 0, count: eligible.count)
        for seed in 0..<UInt64(draws) {
            let decision = try instance.select(eligible: eligible, seed: seed)
            let position = try #require(eligible.firstIndex(of: decision.arm))
            counts[position] += 1
            #expect(abs(decision.propensity - probabilities[position]) < 1e-12, "the propensity is the arm's probability")
        }
        return counts.map { Double($0) / Double(draws) }
    }

    func probabilities(_ instance: StrategyInstance, _ eligible: [UInt32]) throws -> [Double] {
        var output: [Double] = []
        try eligible.withUnsafeBufferPointer { arms in try instance.probabilities(eligible: arms, into: &output) }
        return output
    }

    @Test("epsilon-greedy: epsilon / n everywhere plus (1 - epsilon) / m on the m best, in the eligible order")
    func epsilonGreedy() throws {
        let instance = try FirstPartyPlugins.plugin("epsilon-greedy").makeInstance(config: #"{"epsilon": 0.3}"#, armCount: 5)
        try instance.update([FeedbackRecord(arm: 1, reward: 1), FeedbackRecord(arm: 3, reward: 1), FeedbackRecord(arm: 0, reward: 0.2)])
        let eligible: [UInt32] = [3, 0, 1, 4]
        let p = try probabilities(instance, eligible)
        // Arms 3 and 1 tie at 1; 0 has 0.2; 4 is unseen (initial value 0).
        #expect(p == [0.3 / 4 + 0.7 / 2, 0.3 / 4, 0.3 / 4 + 0.7 / 2, 0.3 / 4])
        let seen = try frequencies(instance, eligible: eligible, probabilities: p, draws: 20_000)
        // Standard errors at most 0.0035; a margin of 0.015 is over 4 of them.
        for (frequency, expected) in zip(seen, p) { #expect(abs(frequency - expected) < 0.015) }
    }

    @Test("UCB: 1 / m on the m arms tied for the best index, exactly 0 elsewhere")
    func ucb() throws {
        let instance = try FirstPartyPlugins.plugin("ucb").makeInstance(armCount: 4)
        #expect(try probabilities(instance, [0, 1, 2, 3]) == [0.25, 0.25, 0.25, 0.25], "all unseen: a four-way tie")
        try instance.update([FeedbackRecord(arm: 0, reward: 1), FeedbackRecord(arm: 1, reward: 0), FeedbackRecord(arm: 2, reward: 0)])
        #expect(try probabilities(instance, [0, 1, 2, 3]) == [0, 0, 0, 1], "the unseen arm comes first")
        #expect(try probabilities(instance, [2, 1, 0]) == [0, 0, 1], "then the highest index")
    }

    @Test("Thompson: the probabilities are the propensity estimate, and match the frequency of choice")
    func thompson() throws {
        let instance = try FirstPartyPlugins.plugin("thompson").makeInstance(armCount: 3)
        try instance.update([
            FeedbackRecord(arm: 0, reward: 1, weight: 6), FeedbackRecord(arm: 0, reward: 0, weight: 4),
            FeedbackRecord(arm: 1, reward: 1, weight: 5), FeedbackRecord(arm: 1, reward: 0, weight: 5),
            FeedbackRecord(arm: 2, reward: 1, weight: 2), FeedbackRecord(arm: 2, reward: 0, weight: 8),
        ])
        let eligible: [UInt32] = [2, 0, 1]
        let p = try probabilities(instance, eligible)
        #expect(abs(p.reduce(0, +) - 1) < 1e-12)
        let seen = try frequencies(instance, eligible: eligible, probabilities: p, draws: 20_000)
        // The estimate has a standard error of at most 0.016 (1,000 draws),
        // the frequency 0.0035: 0.05 is about 3 of both.
        for (frequency, expected) in zip(seen, p) { #expect(abs(frequency - expected) < 0.05) }
    }

    @Test("an eligible arm out of range is refused, not read")
    func badEligible() throws {
        let instance = try FirstPartyPlugins.plugin("ucb").makeInstance(armCount: 2)
        #expect(throws: PluginCallError.self) { _ = try probabilities(instance, [0, 5]) }
        #expect(throws: PluginCallError.self) { _ = try probabilities(instance, [1, 1]) }
    }
}
