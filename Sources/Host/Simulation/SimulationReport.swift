public import JSON

/// The result of `arbiter simulate`. Its JSON form is a stable contract,
/// documented in Docs/simulate.md: fields are only ever added.
public struct SimulationReport: Sendable {
    /// Identifies this document's schema.
    public var format = "arbiter.simulate/1"
    public var environment: Environment
    public var strategies: [StrategyResult]

    public struct Environment: Sendable {
        public var arms: [Double]
        public var horizon: Int
        public var runs: Int
        public var seed: UInt64
        public var drift: Bool
        public var delay: Int
    }

    public struct Summary: Sendable {
        public var mean: Double
        public var sd: Double
        public var min: Double
        public var max: Double

        init(_ values: [Double]) {
            let mean = values.reduce(0, +) / Double(values.count)
            let squares = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) }
            self.mean = mean
            self.sd = values.count > 1 ? (squares / Double(values.count - 1)).squareRoot() : 0
            self.min = values.min() ?? 0
            self.max = values.max() ?? 0
        }
    }

    public struct CurvePoint: Sendable {
        /// Decisions made so far.
        public var t: Int
        /// Mean cumulative regret over the runs at `t`.
        public var mean: Double
        /// Its sample standard deviation.
        public var sd: Double
    }

    public struct StrategyResult: Sendable {
        public var label: String
        public var plugin: String
        public var plugin_version: String
        public var parameters: [String: JSONValue]
        /// Cumulative (pseudo-)regret at the horizon over the runs.
        public var regret: Summary
        /// Share of all decisions that chose the arm that was best at that step.
        public var best_arm_share: Double
        /// Decisions per second, each with its feedback applied, through the ABI.
        public var decisions_per_second: Double
        /// Decisions replaced by the host's uniform fallback.
        public var fallbacks: Int
        /// Cumulative regret at the horizon, one value per run.
        public var regret_per_run: [Double]
        /// Mean cumulative regret over time.
        public var curve: [CurvePoint]
    }
}
