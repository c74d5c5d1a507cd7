public import ArbiterABI

/// What the host is told about a strategy by `describe`.
public struct StrategyDescriptor: Sendable {
    /// Unique strategy name, `[a-z0-9-]+`.
    public var name: String
    /// Semantic version of the plugin.
    public var version: String
    /// One sentence for people.
    public var summary: String
    /// Version of the state payload this plugin writes (and the newest it reads).
    public var stateFormatVersion: UInt32
    /// Rewards accepted, inclusive.
    public var rewardRange: ClosedRange<Double>
    /// The parameters, their defaults and bounds.
    public var parameters: [ParameterSpec]
    /// How the propensity is computed, for the parameters document.
    public var propensity: String

    public init(
        name: String, version: String, summary: String, stateFormatVersion: UInt32,
        rewardRange: ClosedRange<Double>, parameters: [ParameterSpec], propensity: String
    ) {
        self.name = name
        self.version = version
        self.summary = summary
        self.stateFormatVersion = stateFormatVersion
        self.rewardRange = rewardRange
        self.parameters = parameters
        self.propensity = propensity
    }
}

/// One decision request, borrowed from the host for the duration of a call.
public struct SelectionRequest {
    /// The arms available now: distinct, each lower than the arm count, not empty.
    public let eligible: UnsafeBufferPointer<UInt32>
    /// Context features; empty when the request has none.
    public let context: UnsafeBufferPointer<Double>
    /// The seed every random draw of this decision comes from.
    public let seed: UInt64
    /// False when the host said it does not need the propensity.
    public let wantsPropensity: Bool

    public init(eligible: UnsafeBufferPointer<UInt32>, context: UnsafeBufferPointer<Double>, seed: UInt64, wantsPropensity: Bool) {
        self.eligible = eligible
        self.context = context
        self.seed = seed
        self.wantsPropensity = wantsPropensity
    }
}

/// The outcome of one decision.
public struct Selection {
    /// The chosen arm, one of the eligible ones.
    public var arm: UInt32
    /// The probability the policy had of choosing `arm`; NaN if not wanted.
    public var propensity: Double

    public init(arm: UInt32, propensity: Double) {
        self.arm = arm
        self.propensity = propensity
    }
}

/// A selection strategy written in Swift. `StrategyExport` turns a type that
/// conforms to this protocol into a plugin behind the C ABI.
///
/// The kit validates every request before calling in: eligible arms are in
/// range and non-empty, update records have an arm in range, a finite reward
/// inside `rewardRange` and a finite, non-negative weight. So `apply(_:)`
/// cannot fail and updates are all-or-nothing.
public protocol SelectionStrategy: AnyObject {
    /// Describes the strategy; the same value on every call.
    static var descriptor: StrategyDescriptor { get }

    /// Creates a strategy with no learned state.
    init(parameters: StrategyParameters, armCount: Int) throws(StrategyError)

    /// Restores learned state written by `encodeState(into:)` at `formatVersion`
    /// (at most `descriptor.stateFormatVersion`), with new parameters.
    init(parameters: StrategyParameters, state: inout StateReader, formatVersion: UInt32) throws(StrategyError)

    /// Number of arms.
    var armCount: Int { get }

    /// Appends `count` arms with no learned state.
    func addArms(_ count: Int)

    /// Chooses one of `request.eligible`; when `scores` is given, writes the
    /// score of `request.eligible[i]` into `scores[i]`.
    func select(_ request: SelectionRequest, scores: UnsafeMutableBufferPointer<Double>?) -> Selection

    /// Writes into `probabilities[i]` the probability that `select` with
    /// this request chooses `request.eligible[i]` (ABI 1.1): values in
    /// [0, 1] summing to 1, exactly 0 for an arm the policy cannot choose. A
    /// pure function of the state and the eligible set; the seed is not used.
    /// The default throws `unsupported`: such a strategy cannot be evaluated
    /// off-policy.
    func probabilities(_ request: SelectionRequest, into probabilities: UnsafeMutableBufferPointer<Double>) throws(StrategyError)

    /// Learns from validated records, in order.
    func apply(_ records: UnsafeBufferPointer<arbiter_update_record>)

    /// Writes the learned state (not the parameters) as the envelope payload.
    func encodeState(into writer: inout StateWriter)

    /// A JSON object summarising the learned state, `{"arms": [...]}`.
    func inspect() -> String
}

extension SelectionStrategy {
    public func probabilities(_ request: SelectionRequest, into probabilities: UnsafeMutableBufferPointer<Double>) throws(StrategyError) {
        throw .unsupported("\(Self.descriptor.name) does not give the probabilities of its arms")
    }
}
