public import ArbiterABI
public import ArbiterStrategyKit

/// Epsilon-greedy: with probability epsilon a uniformly random eligible arm,
/// otherwise the eligible arm with the best mean reward (ties broken at
/// random). Epsilon is fixed or decays with the amount of feedback seen.
public final class EpsilonGreedy: SelectionStrategy {
    public static let descriptor = StrategyDescriptor(
        name: "epsilon-greedy",
        version: "1.1.0",
        summary: "Epsilon-greedy with a fixed or decaying exploration rate.",
        stateFormatVersion: 1,
        rewardRange: -Double.infinity...Double.infinity,
        parameters: [
            ParameterSpec("epsilon", .number(default: 0.1, min: 0, max: 1),
                          summary: "Exploration probability (the starting one when decaying)."),
            ParameterSpec("schedule", .choice(default: "fixed", options: ["fixed", "decay"]),
                          summary: "fixed: epsilon throughout; decay: epsilon / (1 + decay_rate * feedback seen), at least min_epsilon."),
            ParameterSpec("decay_rate", .number(default: 0.01, min: 0, max: nil),
                          summary: "How fast epsilon decays per unit of feedback weight."),
            ParameterSpec("min_epsilon", .number(default: 0, min: 0, max: 1),
                          summary: "Floor of the decaying epsilon; at most epsilon."),
            ParameterSpec("initial_value", .number(default: 0, min: nil, max: nil),
                          summary: "Estimate of an arm that has no feedback yet."),
        ],
        propensity: "Exact: epsilon / n for every eligible arm, plus (1 - epsilon) / m for each of the m arms tied for the best estimate."
    )

    let epsilon: Double
    let decays: Bool
    let decayRate: Double
    let minEpsilon: Double
    let initialValue: Double
    /// Feedback weight and mean reward of one arm.
    struct Estimate {
        var weight: Double = 0
        var mean: Double = 0
    }

    /// Total feedback weight seen, which drives the decay.
    private(set) var seen: Double = 0
    private(set) var estimates: [Estimate]

    public var armCount: Int { estimates.count }

    public init(parameters: StrategyParameters, armCount: Int) throws(StrategyError) {
        epsilon = parameters.number("epsilon")
        decays = parameters.choice("schedule") == "decay"
        decayRate = parameters.number("decay_rate")
        minEpsilon = parameters.number("min_epsilon")
        initialValue = parameters.number("initial_value")
        guard minEpsilon <= epsilon else {
            throw .invalidConfig("parameter 'min_epsilon' (\(minEpsilon)) must not exceed 'epsilon' (\(epsilon))")
        }
        estimates = Array(repeating: Estimate(), count: armCount)
    }

    public convenience init(parameters: StrategyParameters, state: inout StateReader, formatVersion: UInt32) throws(StrategyError) {
        let arms = try state.readArmCount(bytesPerArm: 16)
        try self.init(parameters: parameters, armCount: arms)
        seen = try state.readDouble()
        guard seen.isFinite, seen >= 0 else { throw .invalidState("state holds an invalid feedback total \(seen)") }
        let weights = try state.readDoubles(arms, named: "weights") { $0.isFinite && $0 >= 0 }
        let means = try state.readDoubles(arms, named: "means") { $0.isFinite }
        estimates = zip(weights, means).map { Estimate(weight: $0, mean: $1) }
    }

    /// The exploration rate now.
    var currentEpsilon: Double {
        decays ? max(minEpsilon, epsilon / (1 + decayRate * seen)) : epsilon
    }

    /// The value the greedy choice ranks an arm by.
    @inline(__always)
    func value(_ estimate: Estimate) -> Double {
        estimate.weight > 0 ? estimate.mean : initialValue
    }

    public func addArms(_ count: Int) {
        estimates += repeatElement(Estimate(), count: count)
    }

    public func select(_ request: SelectionRequest, scores: UnsafeMutableBufferPointer<Double>?) -> Selection {
        var rng = Xoshiro256(seed: request.seed)
        let eligible = request.eligible
        let estimates = self.estimates
        let epsilon = currentEpsilon
        let explore = rng.nextUnit() < epsilon
        var greedy = ArgMax()
        for i in 0..<eligible.count {
            let value = value(estimates[Int(eligible[i])])
            if let scores { scores[i] = value }
            greedy.offer(value, at: i, rng: &rng)
        }
        let position = explore ? rng.nextIndex(below: eligible.count) : greedy.position
        let n = Double(eligible.count)
        let isGreedy = value(estimates[Int(eligible[position])]) == greedy.best
        let propensity = epsilon / n + (isGreedy ? (1 - epsilon) / Double(greedy.ties) : 0)
        return Selection(arm: eligible[position], propensity: propensity)
    }

    /// Exact: epsilon / n for every eligible arm, plus (1 - epsilon) / m for
    /// each of the m arms tied for the best estimate.
    public func probabilities(_ request: SelectionRequest, into probabilities: UnsafeMutableBufferPointer<Double>) {
        let eligible = request.eligible
        let epsilon = currentEpsilon
        var best = -Double.infinity
        var ties = 0
        for i in 0..<eligible.count {
            let value = value(estimates[Int(eligible[i])])
            probabilities[i] = value
            if value > best || ties == 0 { (best, ties) = (value, 1) } else if value == best { ties += 1 }
        }
        let n = Double(eligible.count)
        for i in 0..<eligible.count {
            probabilities[i] = epsilon / n + (probabilities[i] == best ? (1 - epsilon) / Double(ties) : 0)
        }
    }

    public func apply(_ records: UnsafeBufferPointer<arbiter_update_record>) {
        var seen = self.seen
        estimates.withUnsafeMutableBufferPointer { estimates in
            for record in records where record.weight > 0 {
                let arm = Int(record.arm)
                estimates[arm].weight += record.weight
                estimates[arm].mean += record.weight * (record.reward - estimates[arm].mean) / estimates[arm].weight
                seen += record.weight
            }
        }
        self.seen = seen
    }

    public func encodeState(into writer: inout StateWriter) {
        writer.write(UInt32(armCount))
        writer.write(seen)
        writer.write(estimates.map(\.weight))
        writer.write(estimates.map(\.mean))
    }

    public func inspect() -> String {
        let arms = estimates.indices.map { arm in
            JSONText.object([
                ("arm", String(arm)),
                ("weight", JSONText.number(estimates[arm].weight)),
                ("mean", JSONText.number(value(estimates[arm]))),
            ])
        }
        return JSONText.object([("epsilon", JSONText.number(currentEpsilon)), ("arms", JSONText.array(arms))])
    }
}
