import PluginHost
import Testing
import TestSupport

@Suite("Strategy configuration is validated; a bad one creates nothing")
struct ConfigurationValidationTests {
    /// Expects `create` to fail with ARBITER_E_INVALID_CONFIG and a message containing `fragment`.
    func expectRefused(_ plugin: String, _ config: String, mentioning fragment: String) {
        #expect(performing: {
            try FirstPartyPlugins.plugin(plugin).makeInstance(config: config, armCount: 3)
        }, throws: { error in
            guard let error = error as? PluginCallError else { return false }
            return error.status == 2 && error.message.contains(fragment) && error.operation == "create"
        })
    }

    @Test func epsilonOutOfRange() {
        expectRefused("epsilon-greedy", #"{"epsilon": 2}"#, mentioning: "parameter 'epsilon' must be <= 1, got 2")
        expectRefused("epsilon-greedy", #"{"epsilon": -0.1}"#, mentioning: "parameter 'epsilon' must be >= 0")
        expectRefused("epsilon-greedy", #"{"epsilon": 0.1, "min_epsilon": 0.5}"#, mentioning: "'min_epsilon'")
        expectRefused("epsilon-greedy", #"{"schedule": "sometimes"}"#, mentioning: "must be one of fixed, decay")
    }

    @Test func negativePrior() {
        expectRefused("thompson", #"{"prior_alpha": -1}"#, mentioning: "parameter 'prior_alpha' must be > 0")
        expectRefused("thompson", #"{"prior_beta": 0}"#, mentioning: "parameter 'prior_beta' must be > 0")
        expectRefused("thompson", #"{"discount": 1.5}"#, mentioning: "parameter 'discount' must be <= 1")
        expectRefused("thompson", #"{"propensity_draws": 2.5}"#, mentioning: "must be an integer")
    }

    @Test func ucbVariant() {
        expectRefused("ucb", #"{"variant": "ucb2"}"#, mentioning: "must be one of ucb1, ucb1-tuned, kl-ucb")
        expectRefused("ucb", #"{"exploration": -2}"#, mentioning: "'exploration' must be >= 0")
    }

    @Test func malformedDocuments() {
        expectRefused("thompson", #"{"prior_alpha": "one"}"#, mentioning: "must be a number, got a string")
        expectRefused("thompson", #"{"prior_alpha": [1]}"#, mentioning: "must be a number, got an array or object")
        expectRefused("thompson", #"{"alpha": 1}"#, mentioning: "unknown parameter 'alpha'")
        expectRefused("thompson", "[1, 2]", mentioning: "must be a JSON object")
        expectRefused("thompson", "{not json", mentioning: "must be a JSON object")
    }

    @Test("defaults and valid settings are accepted", arguments: [
        ("thompson", "{}"), ("thompson", #"{"prior_alpha": 0.5, "prior_beta": 2, "discount": 0.99}"#),
        ("epsilon-greedy", #"{"epsilon": 0, "schedule": "decay", "decay_rate": 0.1}"#),
        ("ucb", #"{"variant": "kl-ucb", "kl_c": 3}"#), ("ucb", ""),
    ])
    func accepted(plugin: String, config: String) throws {
        let instance = try FirstPartyPlugins.plugin(plugin).makeInstance(config: config, armCount: 3)
        #expect(instance.armCount == 3)
    }

    @Test("an arm count of zero is refused")
    func zeroArms() {
        #expect(throws: PluginCallError.self) { try FirstPartyPlugins.plugin("ucb").makeInstance(armCount: 0) }
    }
}
