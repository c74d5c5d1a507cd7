public import JSON
internal import Storage

/// What is known of one arm of an experiment: the seed's "agent performance".
public struct ArmPerformance: Sendable {
    /// One strategy's learned parameters of the arm (from its own summary).
    public struct StrategyParameters: Sendable {
        public var strategy: String
        public var plugin: String
        public var parameters: JSONValue
    }

    public var arm: String
    public var experiment: String
    public var decisions: Int
    public var feedbackCount: Int
    /// The weighted sum of rewards (successes, for 0/1 rewards).
    public var rewardSum: Double
    /// The weighted mean reward; nil before any feedback.
    public var meanReward: Double?
    /// A 95% interval of the mean reward; nil before any feedback.
    public var interval: Interval?
    public var strategies: [StrategyParameters]
    public var lastDecisionAt: Int64?
    public var lastFeedbackAt: Int64?
}

/// One strategy lineage of a plugin, with its versions: the seed's "model".
public struct ModelSummary: Sendable {
    public var experiment: String
    public var strategy: String
    public var activeVersion: Int
    public var appliedThrough: Int64
    public var unavailable: String?
    /// The strategy's own summary of its learned state.
    public var summary: JSONValue?
    /// Newest first.
    public var versions: [VersionInfo]
}

extension Engine {
    /// Per-arm figures of one experiment, with a 95% interval of each arm's
    /// mean reward (Wilson's when every strategy's rewards lie in [0, 1]) and
    /// each strategy's learned parameters of the arm.
    public func performance(tenant: String, experiment key: String) throws(EngineError) -> [ArmPerformance] {
        let experiment = try runtime(tenant: tenant, key: key)
        let shape = experiment.shape
        let arms = try read { store in try store.arms(experimentID: experiment.id) }
        let bounded = shape.lineages.allSatisfy { lineage in
            lineage.rewardRange.lowerBound >= 0 && lineage.rewardRange.upperBound <= 1
        }
        var parameters: [(strategy: String, plugin: String, arms: [JSONValue])] = []
        for lineage in shape.lineages {
            if let entries = try lineage.summary()?.objectValue?["arms"]?.arrayValue {
                parameters.append((lineage.name, lineage.pluginName, entries))
            }
        }
        return arms.map { arm in
            let stats = arm.stats
            let n = stats.feedbackWeight
            let mean = n > 0 ? stats.rewardSum / n : nil
            return ArmPerformance(
                arm: arm.name, experiment: key, decisions: stats.decisions, feedbackCount: stats.feedbackCount,
                rewardSum: stats.rewardSum, meanReward: mean,
                interval: mean.map { Interval.of(mean: $0, squares: stats.rewardSquares, weight: n, bounded: bounded) },
                strategies: parameters.compactMap { entry in
                    arm.index < entry.arms.count
                        ? .init(strategy: entry.strategy, plugin: entry.plugin, parameters: entry.arms[arm.index]) : nil
                },
                lastDecisionAt: stats.lastDecisionAt, lastFeedbackAt: stats.lastFeedbackAt)
        }
    }

    /// Every lineage of the tenant that runs `plugin`, with its versions.
    public func models(tenant: String, plugin: String) throws(EngineError) -> [ModelSummary] {
        var models: [ModelSummary] = []
        for experiment in try experiments(tenant: tenant) {
            for strategy in experiment.strategies where strategy.plugin == plugin {
                models.append(ModelSummary(
                    experiment: experiment.key, strategy: strategy.name, activeVersion: strategy.activeVersion,
                    appliedThrough: strategy.appliedThrough, unavailable: strategy.unavailable,
                    summary: try inspect(tenant: tenant, experiment: experiment.key, strategy: strategy.name),
                    versions: try versions(tenant: tenant, experiment: experiment.key, strategy: strategy.name)))
            }
        }
        return models
    }
}
