public import PluginHost
public import Evaluation
internal import Dispatch

/// Settings of one simulation.
public struct SimulationSettings: Sendable {
    public var armMeans: [Double]
    public var horizon: Int
    public var runs: Int
    public var seed: UInt64
    public var drift: Bool
    /// Feedback is applied in batches of this many decisions.
    public var delay: Int
    /// Points of the regret curve in the report.
    public var curvePoints: Int

    public init(armMeans: [Double], horizon: Int, runs: Int, seed: UInt64, drift: Bool = false, delay: Int = 1, curvePoints: Int = 20) {
        self.armMeans = armMeans
        self.horizon = horizon
        self.runs = runs
        self.seed = seed
        self.drift = drift
        self.delay = delay
        self.curvePoints = curvePoints
    }

    /// Checks the settings, with a message naming the bad one.
    public func validate() throws(InvalidRequest) {
        guard armMeans.count >= 2 else { throw InvalidRequest("--arms needs at least two arm means") }
        guard armMeans.allSatisfy({ $0.isFinite && $0 >= 0 && $0 <= 1 }) else {
            throw InvalidRequest("--arms means must be probabilities in [0, 1]")
        }
        guard horizon >= 1 else { throw InvalidRequest("--horizon must be at least 1") }
        guard runs >= 1 else { throw InvalidRequest("--runs must be at least 1") }
        guard delay >= 1 else { throw InvalidRequest("--delay must be at least 1") }
        guard curvePoints >= 1 else { throw InvalidRequest("--curve-points must be at least 1") }
    }
}

/// Runs strategies side by side on a seeded Bernoulli environment.
public struct Simulator: Sendable {
    public let catalog: PluginCatalog

    public init(catalog: PluginCatalog) {
        self.catalog = catalog
    }

    /// Runs every strategy for every run. Everything but the timing is a pure
    /// function of the settings: the same seed gives the same report.
    public func run(_ settings: SimulationSettings, strategies: [StrategySpec]) throws -> SimulationReport {
        try settings.validate()
        var results: [SimulationReport.StrategyResult] = []
        for spec in strategies {
            results.append(try simulate(spec, plugin: try plugin(for: spec), settings))
        }
        let environment = SimulationReport.Environment(
            arms: settings.armMeans, horizon: settings.horizon, runs: settings.runs,
            seed: settings.seed, drift: settings.drift, delay: settings.delay)
        return SimulationReport(environment: environment, strategies: results)
    }

    /// The loaded plugin a spec names.
    func plugin(for spec: StrategySpec) throws(InvalidRequest) -> StrategyPlugin {
        guard let plugin = catalog.plugin(named: spec.plugin) else {
            let names = catalog.plugins.map(\.name).sorted().joined(separator: ", ")
            throw InvalidRequest("strategy '\(spec.label)' needs plugin '\(spec.plugin)', which is not loaded (loaded: \(names); aliases: \(StrategySpec.aliases.keys.sorted().joined(separator: ", ")))")
        }
        return plugin
    }

    private func simulate(_ spec: StrategySpec, plugin: StrategyPlugin, _ settings: SimulationSettings) throws -> SimulationReport.StrategyResult {
        let environment = BernoulliEnvironment(means: settings.armMeans, horizon: settings.horizon, drift: settings.drift, seed: settings.seed)
        let checkpoints = (1...settings.curvePoints).map { settings.horizon * $0 / settings.curvePoints }
        let bestAtStep = [environment.best(at: 0), environment.best(at: settings.horizon - 1)]
        var curves = Array(repeating: [Double](), count: checkpoints.count)
        var finalRegrets: [Double] = []
        var bestPulls = 0
        var fallbacks = 0
        var elapsed: Duration = .zero

        for run in 0..<settings.runs {
            let instance = try plugin.makeInstance(config: spec.configJSON, armCount: settings.armMeans.count)
            var regret = 0.0
            var checkpoint = 0
            let started = ContinuousClock.now
            try play(instance, in: environment, run: run, settings, propensity: false) { t, decision, _ in
                if decision.fallback != nil { fallbacks += 1 }
                let arm = Int(decision.arm)
                let best = bestAtStep[environment.reversed(at: t) ? 1 : 0]
                regret += best.mean - environment.mean(of: arm, at: t)
                if arm == best.arm { bestPulls += 1 }
                while checkpoint < checkpoints.count, t + 1 == checkpoints[checkpoint] {
                    curves[checkpoint].append(regret)
                    checkpoint += 1
                }
            }
            elapsed += ContinuousClock.now - started
            finalRegrets.append(regret)
        }

        let seconds = elapsed.seconds
        let decisions = settings.horizon * settings.runs
        return SimulationReport.StrategyResult(
            label: spec.label,
            plugin: plugin.name,
            plugin_version: plugin.version.description,
            parameters: spec.parameters,
            regret: SimulationReport.Summary(finalRegrets),
            best_arm_share: Double(bestPulls) / Double(decisions),
            decisions_per_second: seconds > 0 ? Double(decisions) / seconds : 0,
            fallbacks: fallbacks,
            regret_per_run: finalRegrets,
            curve: zip(checkpoints, curves).map { t, values in
                let summary = SimulationReport.Summary(values)
                return SimulationReport.CurvePoint(t: t, mean: summary.mean, sd: summary.sd)
            }
        )
    }

    /// Runs one strategy for one run of the horizon: each step a decision
    /// over every arm, then `body` with the step, the decision and its
    /// reward; feedback is learned in batches of `settings.delay`.
    private func play(
        _ instance: StrategyInstance, in environment: BernoulliEnvironment, run: Int, _ settings: SimulationSettings,
        propensity: Bool, _ body: (Int, Decision, Double) -> Void
    ) throws {
        let eligible = (0..<settings.armMeans.count).map(UInt32.init)
        var pending: [FeedbackRecord] = []
        pending.reserveCapacity(settings.delay)
        try eligible.withUnsafeBufferPointer { arms in
            for t in 0..<settings.horizon {
                let key = environment.stepKey(at: t, run: run)
                let decision = try instance.select(eligible: arms, seed: environment.decisionSeed(key: key), propensity: propensity)
                let reward = environment.reward(of: Int(decision.arm), at: t, key: key)
                body(t, decision, reward)
                pending.append(FeedbackRecord(arm: decision.arm, reward: reward))
                if pending.count == settings.delay {
                    try instance.update(pending)
                    pending.removeAll(keepingCapacity: true)
                }
            }
        }
    }

    /// One run (`settings.seed`'s first) of one strategy as a decision log
    /// for off-policy evaluation: step t is decision t at time t, with the
    /// strategy's propensity; its reward is logged as feedback at the time the
    /// strategy learns it (the end of its batch of `settings.delay`). Without
    /// drift the log carries the arms' means, so an evaluation of it can
    /// compute each candidate's true value.
    public func log(_ settings: SimulationSettings, strategy spec: StrategySpec) throws -> EvaluationLog {
        try settings.validate()
        let plugin = try plugin(for: spec)
        let environment = BernoulliEnvironment(means: settings.armMeans, horizon: settings.horizon, drift: settings.drift, seed: settings.seed)
        let instance = try plugin.makeInstance(config: spec.configJSON, armCount: settings.armMeans.count)
        var decisions: [LoggedDecision] = []
        var feedback: [LoggedFeedback] = []
        decisions.reserveCapacity(settings.horizon)
        feedback.reserveCapacity(settings.horizon)
        try play(instance, in: environment, run: 0, settings, propensity: true) { t, decision, reward in
            decisions.append(LoggedDecision(id: UInt64(t + 1), time: Int64(t), eligible: (0..<settings.armMeans.count).map(UInt32.init),
                                            arm: decision.arm, propensity: decision.propensity))
            // Learned when its batch is complete: before decision (t / delay + 1) * delay.
            let learned = Int64(min((t / settings.delay + 1) * settings.delay, settings.horizon)) - 1
            feedback.append(LoggedFeedback(decision: t, reward: reward, time: learned))
        }
        return try EvaluationLog(arms: settings.armMeans.indices.map { "arm\($0)" }, decisions: decisions, feedback: feedback,
                                 armMeans: settings.drift ? nil : settings.armMeans)
    }
}
