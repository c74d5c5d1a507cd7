public import ArbiterABI
public import ArbiterStrategyKit

/// Beta-Bernoulli Thompson sampling. Each arm has a Beta posterior over its
/// success probability; a decision draws one sample per eligible arm and picks
/// the largest. Fractional rewards in [0, 1] count as that fraction of a success.
/// With `discount` < 1 every update first shrinks all arms' evidence by that
/// factor, so the posterior follows arms whose means drift.
public final class ThompsonSampling: SelectionStrategy {
    public static let descriptor = StrategyDescriptor(
        name: "thompson",
        version: "1.1.0",
        summary: "Beta-Bernoulli Thompson sampling with an optional discount for drifting arms.",
        stateFormatVersion: 2,
        rewardRange: 0...1,
        parameters: [
            ParameterSpec("prior_alpha", .number(default: 1, min: 0, max: nil, minExclusive: true),
                          summary: "Beta prior successes added to every arm."),
            ParameterSpec("prior_beta", .number(default: 1, min: 0, max: nil, minExclusive: true),
                          summary: "Beta prior failures added to every arm."),
            ParameterSpec("discount", .number(default: 1, min: 0, max: 1, minExclusive: true),
                          summary: "Factor applied to all arms' evidence before each update; 1 keeps everything."),
            ParameterSpec("propensity_draws", .integer(default: 1000, min: 1, max: 1_000_000),
                          summary: "Monte Carlo draws used to estimate the propensity."),
            ParameterSpec("propensity_refresh", .number(default: 0.01, min: 0, max: 1),
                          summary: "The propensity is estimated for the posterior as it stood when the evidence last moved by more than this share of its total; 0 re-estimates after every update."),
        ],
        propensity: "Monte Carlo estimate: the share of propensity_draws joint posterior draws in which the arm is the best of the eligible set, smoothed as (wins + 1/n) / (draws + 1) so it is never 0, drawn from a fixed seed; exactly 1/n when every eligible arm has the same posterior. It is estimated for the posterior as it stood at the last refresh point, which moves when the evidence has changed by more than propensity_refresh of its total since (part of the state, so the estimate is a pure function of the state and the eligible set)."
    )

    /// Weighted (and discounted) evidence about one arm.
    struct Evidence {
        var successes: Double = 0
        var failures: Double = 0
    }

    let priorAlpha: Double
    let priorBeta: Double
    let discount: Double
    let propensityDraws: Int
    let propensityRefresh: Double
    private(set) var evidence: [Evidence]
    /// The evidence the propensity is estimated from: `evidence` as it stood
    /// at the last refresh point.
    private(set) var refreshPoint: [Evidence]
    /// The sum of all arms' evidence (successes and failures), kept as
    /// updates arrive (and stored, so a restored state continues identically).
    private var totalEvidence: Double = 0
    /// How far the evidence moved since the refresh point: the total weight
    /// of the records applied, plus what discounting took away.
    private var drift: Double = 0
    private var propensityCache = PropensityCache()

    public var armCount: Int { evidence.count }

    public init(parameters: StrategyParameters, armCount: Int) {
        priorAlpha = parameters.number("prior_alpha")
        priorBeta = parameters.number("prior_beta")
        discount = parameters.number("discount")
        propensityDraws = parameters.integer("propensity_draws")
        propensityRefresh = parameters.number("propensity_refresh")
        evidence = Array(repeating: Evidence(), count: armCount)
        refreshPoint = evidence
    }

    /// Reads format 2 (evidence, refresh point, total, drift) and format 1
    /// (evidence only: the refresh point is the evidence itself).
    public convenience init(parameters: StrategyParameters, state: inout StateReader, formatVersion: UInt32) throws(StrategyError) {
        let arms = try state.readArmCount(bytesPerArm: formatVersion >= 2 ? 32 : 16)
        self.init(parameters: parameters, armCount: arms)
        let valid: (Double) -> Bool = { $0.isFinite && $0 >= 0 }
        let successes = try state.readDoubles(arms, named: "successes", valid: valid)
        let failures = try state.readDoubles(arms, named: "failures", valid: valid)
        evidence = zip(successes, failures).map { Evidence(successes: $0, failures: $1) }
        if formatVersion >= 2 {
            let pointSuccesses = try state.readDoubles(arms, named: "refresh point successes", valid: valid)
            let pointFailures = try state.readDoubles(arms, named: "refresh point failures", valid: valid)
            refreshPoint = zip(pointSuccesses, pointFailures).map { Evidence(successes: $0, failures: $1) }
            totalEvidence = try state.readDoubles(1, named: "total evidence", valid: valid)[0]
            drift = try state.readDoubles(1, named: "drift", valid: valid)[0]
        } else {
            refreshPoint = evidence
            totalEvidence = evidence.reduce(0) { $0 + $1.successes + $1.failures }
        }
    }

    public func addArms(_ count: Int) {
        evidence += repeatElement(Evidence(), count: count)
        refreshPoint += repeatElement(Evidence(), count: count)
        propensityCache.invalidate()
    }

    public func select(_ request: SelectionRequest, scores: UnsafeMutableBufferPointer<Double>?) -> Selection {
        var rng = Xoshiro256(seed: request.seed)
        let eligible = request.eligible
        let evidence = self.evidence
        var best = ArgMax()
        for i in 0..<eligible.count {
            let arm = evidence[Int(eligible[i])]
            let draw = rng.nextBeta(alpha: priorAlpha + arm.successes, beta: priorBeta + arm.failures)
            if let scores { scores[i] = draw }
            best.offer(draw, at: i, rng: &rng)
        }
        let propensity = request.wantsPropensity ? propensity(of: best.position, among: eligible, refreshPoint) : .nan
        return Selection(arm: eligible[best.position], propensity: propensity)
    }

    /// The estimated probability that the arm at `position` wins under the
    /// posterior of `evidence` (the refresh point), see `descriptor.propensity`.
    func propensity(of position: Int, among eligible: UnsafeBufferPointer<UInt32>, _ evidence: [Evidence]) -> Double {
        winProbabilities(among: eligible, evidence)[position]
    }

    /// The same estimate as the propensity, for every eligible arm: the
    /// Monte Carlo share of wins at the refresh point (its standard error is
    /// at most sqrt(p (1 - p) / propensity_draws)).
    public func probabilities(_ request: SelectionRequest, into probabilities: UnsafeMutableBufferPointer<Double>) {
        let estimate = winProbabilities(among: request.eligible, refreshPoint)
        _ = probabilities.update(fromContentsOf: estimate)
    }

    /// Each eligible arm's estimated probability of winning under the
    /// posterior of `evidence`, from the cache when the eligible list is the same.
    func winProbabilities(among eligible: UnsafeBufferPointer<UInt32>, _ evidence: [Evidence]) -> [Double] {
        if let cached = propensityCache.lookup(eligible) {
            return cached
        }
        // Arms with the same posterior are exchangeable: when every eligible
        // arm has the one posterior (a new experiment), each wins with exactly 1/n.
        let first = evidence[Int(eligible[0])]
        if eligible.allSatisfy({ evidence[Int($0)].successes == first.successes && evidence[Int($0)].failures == first.failures }) {
            let probabilities = [Double](repeating: 1 / Double(eligible.count), count: eligible.count)
            propensityCache.store(eligible, probabilities)
            return probabilities
        }
        var wins = [Double](repeating: 0, count: eligible.count)
        var rng = Xoshiro256(seed: PropensityCache.seed(for: eligible))
        for _ in 0..<propensityDraws {
            var best = ArgMax()
            for i in 0..<eligible.count {
                let arm = evidence[Int(eligible[i])]
                best.offer(rng.nextBeta(alpha: priorAlpha + arm.successes, beta: priorBeta + arm.failures), at: i, rng: &rng)
            }
            wins[best.position] += 1
        }
        let smoothing = 1 / Double(eligible.count)
        let total = Double(propensityDraws) + 1
        let probabilities = wins.map { ($0 + smoothing) / total }
        propensityCache.store(eligible, probabilities)
        return probabilities
    }

    /// Learns from records one by one. After each record the refresh point
    /// moves when the evidence has drifted past `propensityRefresh` of its
    /// total: decided per record, so the state is the same whatever the
    /// batches (live feedback and the replay after a restart cut them differently).
    public func apply(_ records: UnsafeBufferPointer<arbiter_update_record>) {
        let discount = self.discount
        let priorTotal = Double(evidence.count) * (priorAlpha + priorBeta)
        var moved = false
        var (total, drift) = (totalEvidence, self.drift)
        evidence.withUnsafeMutableBufferPointer { evidence in
            for record in records {
                if discount < 1 {
                    for arm in evidence.indices {
                        evidence[arm].successes *= discount
                        evidence[arm].failures *= discount
                    }
                    drift += (1 - discount) * total
                    total *= discount
                }
                let arm = Int(record.arm)
                evidence[arm].successes += record.weight * record.reward
                evidence[arm].failures += record.weight * (1 - record.reward)
                total += record.weight
                drift += record.weight
                if drift > propensityRefresh * (priorTotal + total) {
                    refreshPoint.withUnsafeMutableBufferPointer { point in
                        _ = point.update(fromContentsOf: evidence)
                    }
                    drift = 0
                    moved = true
                }
            }
        }
        (totalEvidence, self.drift) = (total, drift)
        if moved { propensityCache.invalidate() }
    }

    public func encodeState(into writer: inout StateWriter) {
        writer.write(UInt32(armCount))
        writer.write(evidence.map(\.successes))
        writer.write(evidence.map(\.failures))
        writer.write(refreshPoint.map(\.successes))
        writer.write(refreshPoint.map(\.failures))
        writer.write([totalEvidence, drift])
    }

    public func inspect() -> String {
        let arms = evidence.indices.map { arm in
            let alpha = priorAlpha + evidence[arm].successes
            let beta = priorBeta + evidence[arm].failures
            return JSONText.object([
                ("arm", String(arm)),
                ("alpha", JSONText.number(alpha)),
                ("beta", JSONText.number(beta)),
                ("mean", JSONText.number(alpha / (alpha + beta))),
            ])
        }
        return JSONText.object([("arms", JSONText.array(arms))])
    }
}
