public import Storage
public import PluginHost

/// The A/B report of one experiment: per strategy (and per arm of each) its
/// traffic, feedback and mean reward with a 95% interval, the difference
/// against a control, the probability of being best and the expected loss
/// of choosing it; the same per hour and per day; and the experiment's
/// changes on that timeline. Built from running aggregates
/// (`report_buckets`), never from the logs. Docs/evaluation.md states the
/// statistics and their assumptions.
public struct ExperimentReport: Sendable {
    /// The figures of one mean reward.
    public struct Figures: Sendable, Equatable {
        public var decisions = 0
        /// Pieces of feedback (events) received.
        public var feedback = 0
        public var feedbackWeight = 0.0
        public var rewardSum = 0.0
        public var rewardSquares = 0.0

        /// Feedback per decision: the share of decisions answered when each gets one reward.
        public var joinRate: Double? { decisions > 0 ? Double(feedback) / Double(decisions) : nil }
        public var meanReward: Double? { feedbackWeight > 0 ? rewardSum / feedbackWeight : nil }

        /// The standard error of the mean reward: √(p(1 − p)/n) for rewards in
        /// [0, 1], the sample variance's otherwise.
        func standardError(bounded: Bool) -> Double? {
            guard let mean = meanReward else { return nil }
            let variance = bounded ? min(max(mean, 0), 1) * (1 - min(max(mean, 0), 1)) : max(0, rewardSquares / feedbackWeight - mean * mean)
            return (variance / feedbackWeight).squareRoot()
        }

        func interval(bounded: Bool) -> Interval? {
            meanReward.map { Interval.of(mean: $0, squares: rewardSquares, weight: feedbackWeight, bounded: bounded) }
        }

        mutating func add(_ bucket: ReportBucket) {
            decisions += bucket.decisions
            feedback += bucket.feedbackCount
            feedbackWeight += bucket.feedbackWeight
            rewardSum += bucket.rewardSum
            rewardSquares += bucket.rewardSquares
        }
    }

    /// A difference of means with its 95% interval.
    public struct Difference: Sendable, Equatable {
        public var value: Double
        public var lower: Double
        public var upper: Double
    }

    /// One row that can be compared with the others of its kind.
    public struct Line: Sendable, Equatable {
        public var name: String
        public var figures: Figures
        public var interval: Interval?
        /// P(this one has the largest mean), from the posteriors.
        public var probabilityBest: Double?
        /// E[largest mean − this one's]: what choosing it costs, in reward per decision.
        public var expectedLoss: Double?
    }

    public struct StrategyLine: Sendable, Equatable {
        public var line: Line
        public var plugin: String
        /// The plugin version it is pinned to (a canary); nil when it runs
        /// the active version.
        public var pinnedVersion: String?
        /// Its weight now (0 for a strategy no longer in the experiment).
        public var weight: Double
        /// Its share of the decisions made.
        public var trafficShare: Double
        /// Against the control; nil for the control and without feedback.
        public var difference: Difference?
        public var arms: [Line]
    }

    /// One hour or one day.
    public struct Period: Sendable, Equatable {
        /// Its start, milliseconds since the epoch.
        public var start: Int64
        /// Per strategy, in the order of `strategies`.
        public var strategies: [(name: String, figures: Figures)]

        public static func == (lhs: Period, rhs: Period) -> Bool {
            lhs.start == rhs.start && lhs.strategies.map(\.name) == rhs.strategies.map(\.name)
                && lhs.strategies.map(\.figures) == rhs.strategies.map(\.figures)
        }
    }

    /// Something that changed, placed on the timeline.
    public struct Change: Sendable, Equatable {
        public var at: Int64
        /// created, strategy_added, configuration, rollback, saved, weight,
        /// arms_added, assignment, status.
        public var kind: String
        public var strategy: String?
        public var detail: String
        /// The id of the API key that made it, when recorded.
        public var actor: String?
    }

    public var experiment: String
    public var arms: [String]
    public var control: String?
    /// Whether every strategy's rewards lie in [0, 1] (Beta posteriors and
    /// Wilson intervals), or not (normal ones).
    public var boundedRewards: Bool
    public var total: Line
    public var strategies: [StrategyLine]
    /// Each arm over all strategies.
    public var armTotals: [Line]
    public var hourly: [Period]
    public var daily: [Period]
    public var changes: [Change]
}

/// Why a report could not be made.
public struct ReportError: Error, Sendable, CustomStringConvertible {
    public let message: String
    /// The request member at fault (`control`).
    public let field: String?
    public var description: String { message }
}

extension ExperimentReport {
    /// The report of `experiment` from the store's aggregates.
    /// - Parameters:
    ///   - control: the strategy others are compared with; the first by default.
    ///   - bounded: whether a plugin's rewards lie in [0, 1] (by plugin name).
    public static func build(_ store: Store, experiment: ExperimentRecord, control: String?,
                             bounded: (String) -> Bool) throws -> ExperimentReport {
        let records = try store.strategies(experimentID: experiment.id)
        let buckets = try store.reportBuckets(experimentID: experiment.id)
        var names: [Int64: String] = [:]
        for record in records { names[record.id] = record.name }
        // Strategies in creation order; ids seen only in the buckets (a strategy since removed) after them.
        var order = records.map(\.id)
        for bucket in buckets where names[bucket.strategyID] == nil {
            names[bucket.strategyID] = "strategy \(bucket.strategyID)"
            order.append(bucket.strategyID)
        }
        let isBounded = records.allSatisfy { bounded($0.plugin) }
        let controlName = control ?? records.first?.name
        if let control, !records.contains(where: { $0.name == control }) {
            throw ReportError(message: "no strategy '\(control)' in experiment '\(experiment.key)' (it has: \(records.map(\.name).joined(separator: ", ")))", field: "control")
        }

        var perStrategy: [Int64: Figures] = [:]
        var perArm: [Int64: [Int: Figures]] = [:]
        var armTotals = [Figures](repeating: Figures(), count: experiment.arms.count)
        var total = Figures()
        var hours: [Int64: [Int64: Figures]] = [:]
        var days: [Int64: [Int64: Figures]] = [:]
        for bucket in buckets {
            perStrategy[bucket.strategyID, default: Figures()].add(bucket)
            perArm[bucket.strategyID, default: [:]][bucket.arm, default: Figures()].add(bucket)
            if armTotals.indices.contains(bucket.arm) { armTotals[bucket.arm].add(bucket) }
            total.add(bucket)
            hours[bucket.hour, default: [:]][bucket.strategyID, default: Figures()].add(bucket)
            let day = bucket.hour >= 0 ? bucket.hour / 24 : (bucket.hour - 23) / 24
            days[day, default: [:]][bucket.strategyID, default: Figures()].add(bucket)
        }

        func posterior(_ figures: Figures) -> PosteriorComparison.Posterior? {
            guard let mean = figures.meanReward else { return nil }
            if isBounded {
                let successes = min(max(figures.rewardSum, 0), figures.feedbackWeight)
                return .beta(alpha: 1 + successes, beta: 1 + figures.feedbackWeight - successes)
            }
            guard figures.feedbackWeight >= 2, let se = figures.standardError(bounded: false) else { return nil }
            return .normal(mean: mean, sd: max(se, 1e-12))
        }
        /// Lines with the probability of being best among those with a posterior.
        func lines(_ rows: [(String, Figures)]) -> [Line] {
            let posteriors = rows.map { posterior($0.1) }
            let compared = PosteriorComparison.compare(posteriors.compactMap { $0 })
            var next = 0
            return rows.enumerated().map { index, row in
                var line = Line(name: row.0, figures: row.1, interval: row.1.interval(bounded: isBounded))
                if posteriors[index] != nil {
                    (line.probabilityBest, line.expectedLoss) = compared[next]
                    next += 1
                }
                return line
            }
        }

        let strategyLines = lines(order.map { (names[$0]!, perStrategy[$0] ?? Figures()) })
        let controlFigures = order.first { names[$0] == controlName }.flatMap { perStrategy[$0] }
        let strategies = zip(order, strategyLines).map { id, line in
            let record = records.first { $0.id == id }
            var difference: Difference?
            if line.name != controlName, let control = controlFigures, let mean = line.figures.meanReward,
               let controlMean = control.meanReward, let se = line.figures.standardError(bounded: isBounded),
               let controlSE = control.standardError(bounded: isBounded) {
                let half = Interval.z95 * (se * se + controlSE * controlSE).squareRoot()
                difference = Difference(value: mean - controlMean, lower: mean - controlMean - half, upper: mean - controlMean + half)
            }
            let arms = lines(experiment.arms.indices.map { (experiment.arms[$0], perArm[id]?[$0] ?? Figures()) })
            return StrategyLine(line: line, plugin: record?.plugin ?? "", pinnedVersion: record?.pluginVersion, weight: record?.weight ?? 0,
                                trafficShare: total.decisions > 0 ? Double(line.figures.decisions) / Double(total.decisions) : 0,
                                difference: difference, arms: arms)
        }
        func periods(_ table: [Int64: [Int64: Figures]], length: Int64) -> [Period] {
            table.keys.sorted().map { key in
                Period(start: key * length, strategies: order.compactMap { id in table[key]![id].map { (names[id]!, $0) } })
            }
        }
        return ExperimentReport(
            experiment: experiment.key, arms: experiment.arms, control: controlName, boundedRewards: isBounded,
            total: Line(name: "total", figures: total, interval: total.interval(bounded: isBounded)), strategies: strategies,
            armTotals: lines(experiment.arms.indices.map { (experiment.arms[$0], armTotals[$0]) }),
            hourly: periods(hours, length: 3_600_000), daily: periods(days, length: 86_400_000),
            changes: try changes(store, experiment: experiment, strategies: records))
    }

    /// The experiment's creation, its strategies' arrival, the versions that
    /// change what a strategy does (a new configuration, a rollback, a save
    /// asked for; the periodic saves are left out), and the changes recorded
    /// beside them (weights, arms added, assignment, status).
    static func changes(_ store: Store, experiment: ExperimentRecord, strategies: [StrategyRecord]) throws -> [Change] {
        var changes = [Change(at: experiment.createdAt, kind: "created", strategy: nil,
                              detail: "arms \(experiment.arms.joined(separator: ", "))")]
        for strategy in strategies {
            if strategy.createdAt > experiment.createdAt {
                changes.append(Change(at: strategy.createdAt, kind: "strategy_added", strategy: strategy.name,
                                      detail: "\(strategy.plugin) \(strategy.config)"))
            }
            for version in try store.versions(strategyID: strategy.id) {
                switch version.reason {
                case .configuration:
                    changes.append(Change(at: version.createdAt, kind: "configuration", strategy: strategy.name,
                                          detail: "version \(version.version): \(version.config)"))
                case .rollback:
                    changes.append(Change(at: version.createdAt, kind: "rollback", strategy: strategy.name,
                                          detail: "version \(version.version) restores version \(version.restoredFrom.map(String.init) ?? "?")"))
                case .onDemand:
                    changes.append(Change(at: version.createdAt, kind: "saved", strategy: strategy.name, detail: "version \(version.version)"))
                case .periodic, .shutdown, .eviction, .upgrade:
                    // An upgrade is recorded among the changes, with both plugin versions.
                    break
                }
            }
        }
        for change in try store.changes(experimentID: experiment.id) {
            changes.append(Change(at: change.at, kind: change.kind, strategy: change.strategy, detail: change.detail, actor: change.actor))
        }
        return changes.enumerated().sorted { ($0.element.at, $0.offset) < ($1.element.at, $1.offset) }.map(\.element)
    }
}

extension Engine {
    /// The A/B report of one experiment (see `ExperimentReport`).
    public func report(tenant: String, experiment key: String, control: String? = nil) async throws(EngineError) -> ExperimentReport {
        let record = try await storedExperiment(tenant: tenant, key: key)
        let catalog = self.catalog
        let result: Result<ExperimentReport, EngineError> = try read { store in
            do {
                return .success(try ExperimentReport.build(store, experiment: record, control: control) { plugin in
                    ExperimentReport.boundedRewards(catalog.plugin(named: plugin))
                })
            } catch let error as ReportError {
                return .failure(.conflict(.control, error.message))
            }
        }
        return try result.get()
    }

    /// The stored row of the experiment `key`, without loading it into
    /// memory; one created on first use moments ago is written first.
    func storedExperiment(tenant: String, key: String) async throws(EngineError) -> ExperimentRecord {
        let id: Int64
        switch registry.experiment(tenantNamed: tenant, key: key) {
        case .unknownTenant: throw .unknownTenant(tenant)
        case .unknownExperiment: throw .unknownExperiment(key)
        case let .experiment(found, _): id = found
        }
        if let record = try read({ store in try store.experiment(id: id) }) { return record }
        try await flush()
        guard let record = try read({ store in try store.experiment(id: id) }) else { throw .unknownExperiment(key) }
        return record
    }
}

extension ExperimentReport {
    /// Whether a plugin's rewards lie in [0, 1] (unknown plugins are taken as not).
    public static func boundedRewards(_ plugin: StrategyPlugin?) -> Bool {
        guard let range = plugin?.rewardRange else { return false }
        return range.lowerBound >= 0 && range.upperBound <= 1
    }
}
