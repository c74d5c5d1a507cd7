public import JSON
internal import Storage
internal import Synchronization

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
        try performance(of: try runtime(tenant: tenant, key: key))
    }

    /// Per-arm figures of a page of the tenant's experiments (at most
    /// `limit` experiments, each with all its arms), oldest first. An
    /// experiment not in memory is read from the store without entering memory.
    public func performance(tenant: String, after cursor: String? = nil,
                            limit: Int = Page<ArmPerformance>.defaultLimit) throws(EngineError) -> Page<ArmPerformance> {
        let experiments = try experimentPage(tenant: tenant, after: cursor, limit: limit)
        var arms: [ArmPerformance] = []
        for experiment in experiments.items { arms += try performance(of: experiment) }
        return Page(items: arms, next: experiments.next)
    }

    private func performance(of experiment: ExperimentRuntime) throws(EngineError) -> [ArmPerformance] {
        let shape = experiment.shape
        let stats = try read { store in try store.armStats(experimentID: experiment.id) }
        let bounded = shape.lineages.allSatisfy { lineage in
            lineage.rewardRange.lowerBound >= 0 && lineage.rewardRange.upperBound <= 1
        }
        var parameters: [(strategy: String, plugin: String, arms: [JSONValue])] = []
        for lineage in shape.lineages {
            if let entries = try lineage.summary()?.objectValue?["arms"]?.arrayValue {
                parameters.append((lineage.name, lineage.pluginName, entries))
            }
        }
        return shape.arms.enumerated().map { index, name in
            let stats = stats[index] ?? ArmStats()
            let n = stats.feedbackWeight
            let mean = n > 0 ? stats.rewardSum / n : nil
            return ArmPerformance(
                arm: name, experiment: experiment.key, decisions: stats.decisions, feedbackCount: stats.feedbackCount,
                rewardSum: stats.rewardSum, meanReward: mean,
                interval: mean.map { Interval.of(mean: $0, squares: stats.rewardSquares, weight: n, bounded: bounded) },
                strategies: parameters.compactMap { entry in
                    index < entry.arms.count ? .init(strategy: entry.strategy, plugin: entry.plugin, parameters: entry.arms[index]) : nil
                },
                lastDecisionAt: stats.lastDecisionAt, lastFeedbackAt: stats.lastFeedbackAt)
        }
    }

    /// A page of the lineages of the tenant that run `plugin` (at most
    /// `limit`), each with its 10 newest versions (all of them, a page at a
    /// time, through `versions`).
    public func models(tenant: String, plugin: String, after cursor: String? = nil,
                       limit: Int = Page<ModelSummary>.defaultLimit) throws(EngineError) -> Page<ModelSummary> {
        guard let tenantRecord = registry.tenant(named: tenant) else { throw .unknownTenant(tenant) }
        let after = try Page<ModelSummary>.position(cursor)
        try Page<ModelSummary>.check(limit)
        let rows = try read { store in try store.strategies(tenantID: tenantRecord.id, plugin: plugin, afterID: after, limit: limit + 1) }
        var models: [ModelSummary] = []
        for (strategy, _) in rows.prefix(limit) {
            let experiment = try visiting(experimentID: strategy.experimentID, tenantName: tenantRecord.name)
            guard let lineage = experiment.shape.lineages.first(where: { $0.id == strategy.id }) else { continue }
            let state = lineage.state.withLock { ($0.activeVersion, $0.appliedThrough, $0.unavailable) }
            let versions = try self.versions(tenant: tenant, experiment: experiment.key, strategy: lineage.name, limit: 10).items
            models.append(ModelSummary(experiment: experiment.key, strategy: lineage.name, activeVersion: state.0,
                                       appliedThrough: state.1, unavailable: state.2, summary: try lineage.summary(),
                                       versions: versions))
        }
        return Page(items: models, next: rows.count > limit ? rows.prefix(limit).last.map { String($0.0.id) } : nil)
    }

    /// A page of the tenant's experiments as run-time objects: those in
    /// memory, and the others read from the store without entering memory.
    func experimentPage(tenant: String, after cursor: String?, limit: Int) throws(EngineError) -> Page<ExperimentRuntime> {
        guard let tenantRecord = registry.tenant(named: tenant) else { throw .unknownTenant(tenant) }
        let after = try Page<ExperimentRuntime>.position(cursor)
        try Page<ExperimentRuntime>.check(limit)
        let records = try read { store in try store.experiments(tenantID: tenantRecord.id, afterID: after, limit: limit + 1) }
        var items: [ExperimentRuntime] = []
        for record in records.prefix(limit) {
            items.append(try visiting(experimentID: record.id, tenantName: tenantRecord.name))
        }
        return Page(items: items, next: records.count > limit ? records.prefix(limit).last.map { String($0.id) } : nil)
    }

    /// The experiment in memory, or read from the store for a look without
    /// entering memory (a listing must not push out the experiments in use).
    func visiting(experimentID id: Int64, tenantName: String) throws(EngineError) -> ExperimentRuntime {
        if let runtime = registry.resident(id: id) { return runtime }
        let loader = self.loader
        guard let loaded = try read({ store in try loader.load(id: id, tenantName: tenantName, from: store) }) else {
            throw .storage("experiment \(id) is indexed but not stored")
        }
        return loaded
    }
}
