/// One decision, as the engine returns it.
public struct DecisionResult: Sendable, Equatable {
    /// Names the decision in feedback.
    public var decisionID: String
    /// The chosen arm.
    public var arm: String
    public var armIndex: Int
    /// The probability the deciding strategy had of choosing this arm.
    public var propensity: Double
    /// The probability that this strategy was the one to decide.
    public var trafficShare: Double
    /// The strategy that decided.
    public var strategy: String
    public var plugin: String
    /// The active model version of that strategy.
    public var modelVersion: Int
    /// The last learning event applied to the state that decided.
    public var appliedThrough: Int64
    /// The seed of every random draw of the decision (for replay).
    public var seed: UInt64
    /// Scores of the eligible arms (by arm name), when requested.
    public var scores: [(arm: String, score: Double)]?
    /// Set when the plugin misbehaved and the host chose uniformly instead.
    public var fallback: String?

    public static func == (lhs: DecisionResult, rhs: DecisionResult) -> Bool {
        lhs.decisionID == rhs.decisionID && lhs.arm == rhs.arm && lhs.propensity == rhs.propensity
            && lhs.strategy == rhs.strategy && lhs.modelVersion == rhs.modelVersion && lhs.seed == rhs.seed
            && lhs.fallback == rhs.fallback
            && lhs.scores?.map(\.arm) == rhs.scores?.map(\.arm) && lhs.scores?.map(\.score) == rhs.scores?.map(\.score)
    }
}
