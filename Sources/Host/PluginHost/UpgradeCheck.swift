/// The self-check a new plugin version passes before it serves, run on
/// scratch instances only (nothing live is touched): describe (done when it
/// loaded), create with each live configuration, restore each live state
/// (serialized by the old version), then on each instance select over all
/// arms and over a subset, give the probabilities (ABI 1.1), learn, serialize
/// and restore what it serialized.
public struct UpgradeCheck: Sendable {
    /// A state the new version must be able to read.
    public struct LiveState: Sendable {
        /// Whose it is, for messages ("strategy 'a' of experiment 'x'").
        public var owner: String
        public var config: String
        public var state: [UInt8]
        /// Its arm count, which the restored instance must have.
        public var armCount: Int

        public init(owner: String, config: String, state: [UInt8], armCount: Int) {
            self.owner = owner
            self.config = config
            self.state = state
            self.armCount = armCount
        }
    }

    /// What the check found.
    public struct Outcome: Sendable {
        /// Why the new version may not serve at all, or nil.
        public var failure: String?
        /// States it cannot read, with the reason: their strategies can only
        /// move to it by starting fresh.
        public var unreadable: [(owner: String, reason: String)] = []

        public var passed: Bool { failure == nil && unreadable.isEmpty }
    }

    /// Checks `new` against the version it would replace (`old`, nil for a
    /// name not loaded before), the live configurations and states.
    public static func run(new: StrategyPlugin, replacing old: StrategyPlugin?, configs: [String],
                           states: [LiveState]) -> Outcome {
        var outcome = Outcome()
        if let old, old.rewardRange != new.rewardRange {
            outcome.failure = "its reward range [\(new.rewardRange.lowerBound), \(new.rewardRange.upperBound)] differs from "
                + "[\(old.rewardRange.lowerBound), \(old.rewardRange.upperBound)] of \(old.label): live strategies accepted rewards by the old range"
            return outcome
        }
        for config in Set(configs + ["{}"]).sorted() {
            do throws(PluginCallError) {
                let instance = try new.makeInstance(config: config, armCount: 3)
                if let problem = exercise(instance, config: config) {
                    outcome.failure = "with configuration \(config): \(problem)"
                    return outcome
                }
            } catch {
                // The default configuration may be refused when no live one
                // uses it; a live configuration must be accepted.
                if config == "{}", !configs.contains("{}") { continue }
                outcome.failure = "create with configuration \(config) failed: \(error.message)"
                return outcome
            }
        }
        for live in states {
            let instance: StrategyInstance
            do throws(PluginCallError) {
                instance = try new.restoreInstance(config: live.config, state: live.state)
            } catch {
                outcome.unreadable.append((live.owner, error.message))
                continue
            }
            guard instance.armCount == live.armCount else {
                outcome.failure = "the state of \(live.owner) (\(live.armCount) arms) restored with \(instance.armCount) arms"
                return outcome
            }
            if let problem = exercise(instance, config: live.config) {
                outcome.failure = "on the state of \(live.owner): \(problem)"
                return outcome
            }
        }
        return outcome
    }

    /// Selects, gives probabilities, learns and serializes on `instance`;
    /// returns what went wrong, or nil.
    static func exercise(_ instance: StrategyInstance, config: String) -> String? {
        let arms = UInt32(instance.armCount)
        let subsets: [[UInt32]] = arms > 1 ? [Array(0..<arms), [arms - 1, 0]] : [[0]]
        for (index, eligible) in subsets.enumerated() {
            let decision: Decision
            do throws(InvalidRequest) {
                decision = try instance.select(eligible: eligible, seed: 0x5E1F_C4EC + UInt64(index))
            } catch {
                return "select refused a valid request: \(error)"
            }
            if let fallback = decision.fallback { return "select failed: \(fallback)" }
            if instance.plugin.givesProbabilities {
                var probabilities: [Double] = []
                let failure: PluginCallError? = eligible.withUnsafeBufferPointer { arms in
                    do throws(PluginCallError) {
                        try instance.probabilities(eligible: arms, into: &probabilities)
                        return nil
                    } catch {
                        return error
                    }
                }
                if let failure { return "probabilities failed: \(failure.message)" }
            }
        }
        let range = instance.plugin.rewardRange
        let reward = range.lowerBound.isFinite ? range.lowerBound : (range.upperBound.isFinite ? range.upperBound : 0)
        do throws(PluginCallError) {
            try instance.update([FeedbackRecord(arm: 0, reward: reward), FeedbackRecord(arm: arms - 1, reward: reward)])
            let state = try instance.serialize()
            let again = try instance.plugin.restoreInstance(config: config, state: state)
            guard again.armCount == instance.armCount else {
                return "its own state restored with \(again.armCount) arms instead of \(instance.armCount)"
            }
        } catch {
            return "\(error.operation) failed: \(error.message)"
        }
        return nil
    }
}
