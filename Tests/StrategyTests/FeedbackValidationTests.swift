import PluginHost
import Testing
import TestSupport

@Suite("Feedback is validated as a batch; a bad record applies nothing")
struct FeedbackValidationTests {
    @Test("Bernoulli strategies refuse NaN, infinite and out-of-range rewards", arguments: ["thompson", "ucb"])
    func bernoulliRewards(plugin: String) throws {
        let instance = try FirstPartyPlugins.plugin(plugin).makeInstance(armCount: 3)
        try instance.update([FeedbackRecord(arm: 0, reward: 1)])
        let before = try instance.serialize()
        for reward in [Double.nan, 7, -0.5, .infinity] {
            #expect(performing: {
                try instance.update([FeedbackRecord(arm: 1, reward: 1), FeedbackRecord(arm: 2, reward: reward)])
            }, throws: { error in
                let error = error as? PluginCallError
                return error?.status == 1 && error?.message.contains("record 1: reward") == true
            })
        }
        #expect(try instance.serialize() == before, "nothing of a refused batch was applied")
    }

    @Test("epsilon-greedy takes any finite reward but not NaN")
    func unboundedRewards() throws {
        let instance = try FirstPartyPlugins.plugin("epsilon-greedy").makeInstance(armCount: 2)
        try instance.update([FeedbackRecord(arm: 0, reward: 7), FeedbackRecord(arm: 1, reward: -120.5)])
        let before = try instance.serialize()
        #expect(throws: PluginCallError.self) { try instance.update([FeedbackRecord(arm: 0, reward: .nan)]) }
        #expect(try instance.serialize() == before)
    }

    @Test("unknown arms and invalid weights are refused", arguments: ["thompson", "epsilon-greedy", "ucb"])
    func armsAndWeights(plugin: String) throws {
        let instance = try FirstPartyPlugins.plugin(plugin).makeInstance(armCount: 2)
        let before = try instance.serialize()
        #expect(throws: PluginCallError.self) { try instance.update([FeedbackRecord(arm: 2, reward: 1)]) }
        #expect(throws: PluginCallError.self) { try instance.update([FeedbackRecord(arm: 0, reward: 1, weight: -1)]) }
        #expect(throws: PluginCallError.self) { try instance.update([FeedbackRecord(arm: 0, reward: 1, weight: .nan)]) }
        #expect(try instance.serialize() == before)
    }
}
