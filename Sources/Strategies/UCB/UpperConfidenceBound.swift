public import ArbiterABI
public import ArbiterStrategyKit
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Upper confidence bound strategies for rewards in [0, 1]: UCB1, UCB1-Tuned
/// and KL-UCB (Bernoulli), chosen by the `variant` parameter. Arms without
/// feedback come first; exact ties are broken at random with the seed.
public final class UpperConfidenceBound: SelectionStrategy {
    public static let descriptor = StrategyDescriptor(
        name: "ucb",
        version: "1.1.0",
        summary: "UCB1, UCB1-Tuned or KL-UCB, selectable by parameter.",
        stateFormatVersion: 1,
        rewardRange: 0...1,
        parameters: [
            ParameterSpec("variant", .choice(default: "ucb1", options: ["ucb1", "ucb1-tuned", "kl-ucb"]),
                          summary: "ucb1: mean + sqrt(exploration ln t / n); ucb1-tuned: variance-aware bound (Auer et al. 2002); kl-ucb: Bernoulli KL bound (Garivier and Cappe 2011)."),
            ParameterSpec("exploration", .number(default: 2, min: 0, max: nil),
                          summary: "UCB1's exploration constant c in sqrt(c ln t / n)."),
            ParameterSpec("kl_c", .number(default: 0, min: 0, max: nil),
                          summary: "KL-UCB's c in the bound (ln t + c ln ln t) / n."),
        ],
        propensity: "Exact: the policy is deterministic but for ties, so 1 / (number of eligible arms tied for the best index)."
    )

    enum Variant { case ucb1, tuned, klUCB }

    let variant: Variant
    let exploration: Double
    let klC: Double
    /// Feedback weight, reward sum and squared-reward sum of one arm.
    struct Tally {
        var weight: Double = 0
        var sum: Double = 0
        var squares: Double = 0
    }

    /// Total feedback weight over all arms (the t of the bounds).
    private(set) var total: Double = 0
    private(set) var tallies: [Tally]

    public var armCount: Int { tallies.count }

    public init(parameters: StrategyParameters, armCount: Int) {
        variant = switch parameters.choice("variant") {
        case "ucb1-tuned": .tuned
        case "kl-ucb": .klUCB
        default: .ucb1
        }
        exploration = parameters.number("exploration")
        klC = parameters.number("kl_c")
        tallies = Array(repeating: Tally(), count: armCount)
    }

    public convenience init(parameters: StrategyParameters, state: inout StateReader, formatVersion: UInt32) throws(StrategyError) {
        let arms = try state.readArmCount(bytesPerArm: 24)
        self.init(parameters: parameters, armCount: arms)
        total = try state.readDouble()
        guard total.isFinite, total >= 0 else { throw .invalidState("state holds an invalid feedback total \(total)") }
        let weights = try state.readDoubles(arms, named: "weights") { $0.isFinite && $0 >= 0 }
        let sums = try state.readDoubles(arms, named: "sums") { $0.isFinite }
        let squares = try state.readDoubles(arms, named: "squares") { $0.isFinite && $0 >= 0 }
        tallies = weights.indices.map { Tally(weight: weights[$0], sum: sums[$0], squares: squares[$0]) }
    }

    public func addArms(_ count: Int) {
        tallies += repeatElement(Tally(), count: count)
    }

    /// The upper confidence index of one arm; +infinity without feedback.
    @inline(__always)
    func index(_ tally: Tally, logT: Double) -> Double {
        let n = tally.weight
        guard n > 0 else { return .infinity }
        let mean = tally.sum / n
        switch variant {
        case .ucb1:
            return mean + (exploration * logT / n).squareRoot()
        case .tuned:
            let variance = max(0, tally.squares / n - mean * mean) + (2 * logT / n).squareRoot()
            return mean + (logT / n * min(0.25, variance)).squareRoot()
        case .klUCB:
            let budget = (logT + (logT > 1 ? klC * log(logT) : 0)) / n
            return Self.klUpperBound(mean: min(1, max(0, mean)), budget: budget)
        }
    }

    /// The largest q in [mean, 1] with KL(mean, q) <= budget. KL(mean, .) is
    /// convex and increasing above the mean, so Newton's method started above
    /// the root (Pinsker: the root is at most mean + sqrt(budget / 2)) descends
    /// to it monotonically, in a handful of steps.
    static func klUpperBound(mean p: Double, budget d: Double) -> Double {
        guard d > 0, p < 1 else { return p >= 1 ? 1 : p }
        if p <= 0 { return 1 - exp(-d) }
        var q = min(p + (d / 2).squareRoot(), 1 - 1e-12)
        if bernoulliKL(p, q) <= d { return q }
        for _ in 0..<60 {
            let step = (bernoulliKL(p, q) - d) * q * (1 - q) / (q - p)
            q -= step
            if step < 1e-12 { break }
        }
        return q
    }

    static func bernoulliKL(_ p: Double, _ q: Double) -> Double {
        let epsilon = 1e-15
        let p = min(max(p, epsilon), 1 - epsilon)
        let q = min(max(q, epsilon), 1 - epsilon)
        return p * log(p / q) + (1 - p) * log((1 - p) / (1 - q))
    }

    public func select(_ request: SelectionRequest, scores: UnsafeMutableBufferPointer<Double>?) -> Selection {
        var rng = Xoshiro256(seed: request.seed)
        let eligible = request.eligible
        let tallies = self.tallies
        let logT = log(max(total, 1))
        var best = ArgMax()
        for i in 0..<eligible.count {
            let value = index(tallies[Int(eligible[i])], logT: logT)
            if let scores { scores[i] = value }
            best.offer(value, at: i, rng: &rng)
        }
        return Selection(arm: eligible[best.position], propensity: 1 / Double(best.ties))
    }

    /// Exact: 1 / m for each of the m eligible arms tied for the best index,
    /// 0 for the others.
    public func probabilities(_ request: SelectionRequest, into probabilities: UnsafeMutableBufferPointer<Double>) {
        let eligible = request.eligible
        let logT = log(max(total, 1))
        var best = -Double.infinity
        var ties = 0
        for i in 0..<eligible.count {
            let value = index(tallies[Int(eligible[i])], logT: logT)
            probabilities[i] = value
            if value > best || ties == 0 { (best, ties) = (value, 1) } else if value == best { ties += 1 }
        }
        for i in 0..<eligible.count {
            probabilities[i] = probabilities[i] == best ? 1 / Double(ties) : 0
        }
    }

    public func apply(_ records: UnsafeBufferPointer<arbiter_update_record>) {
        var total = self.total
        tallies.withUnsafeMutableBufferPointer { tallies in
            for record in records {
                let arm = Int(record.arm)
                tallies[arm].weight += record.weight
                tallies[arm].sum += record.weight * record.reward
                tallies[arm].squares += record.weight * record.reward * record.reward
                total += record.weight
            }
        }
        self.total = total
    }

    public func encodeState(into writer: inout StateWriter) {
        writer.write(UInt32(armCount))
        writer.write(total)
        writer.write(tallies.map(\.weight))
        writer.write(tallies.map(\.sum))
        writer.write(tallies.map(\.squares))
    }

    public func inspect() -> String {
        let logT = log(max(total, 1))
        let arms = tallies.indices.map { arm in
            let tally = tallies[arm]
            return JSONText.object([
                ("arm", String(arm)),
                ("weight", JSONText.number(tally.weight)),
                ("mean", JSONText.number(tally.weight > 0 ? tally.sum / tally.weight : .nan)),
                ("index", JSONText.number(index(tally, logT: logT))),
            ])
        }
        return JSONText.object([("arms", JSONText.array(arms))])
    }
}
