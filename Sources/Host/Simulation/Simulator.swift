public import PluginHost
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
            guard let plugin = catalog.plugin(named: spec.plugin) else {
                let names = catalog.plugins.map(\.name).sorted().joined(separator: ", ")
                throw InvalidRequest("strategy '\(spec.label)' needs plugin '\(spec.plugin)', which is not loaded (loaded: \(names); aliases: \(StrategySpec.aliases.keys.sorted().joined(separator: ", ")))")
            }
            results.append(try simulate(spec, plugin: plugin, settings))
        }
        let environment = SimulationReport.Environment(
            arms: settings.armMeans, horizon: settings.horizon, runs: settings.runs,
            seed: settings.seed, drift: settings.drift, delay: settings.delay)
        return SimulationReport(environment: environment, strategies: results)
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
        let eligible = (0..<settings.armMeans.count).map(UInt32.init)

        for run in 0..<settings.runs {
            let instance = try plugin.makeInstance(config: spec.configJSON, armCount: settings.armMeans.count)
            var pending: [FeedbackRecord] = []
            pending.reserveCapacity(settings.delay)
            var regret = 0.0
            var checkpoint = 0
            let started = ContinuousClock.now
            try eligible.withUnsafeBufferPointer { arms in
                for t in 0..<settings.horizon {
                    let key = environment.stepKey(at: t, run: run)
                    let decision = try instance.select(eligible: arms, seed: environment.decisionSeed(key: key), propensity: false)
                    if decision.fallback != nil { fallbacks += 1 }
                    let arm = Int(decision.arm)
                    let best = bestAtStep[environment.reversed(at: t) ? 1 : 0]
                    regret += best.mean - environment.mean(of: arm, at: t)
                    if arm == best.arm { bestPulls += 1 }
                    pending.append(FeedbackRecord(arm: decision.arm, reward: environment.reward(of: arm, at: t, key: key)))
                    if pending.count == settings.delay {
                        try instance.update(pending)
                        pending.removeAll(keepingCapacity: true)
                    }
                    while checkpoint < checkpoints.count, t + 1 == checkpoints[checkpoint] {
                        curves[checkpoint].append(regret)
                        checkpoint += 1
                    }
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
}
