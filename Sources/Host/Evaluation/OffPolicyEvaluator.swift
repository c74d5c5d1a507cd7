public import PluginHost

/// A strategy to evaluate on a log: any loaded plugin with any parameters,
/// in traffic or not.
public struct Candidate: Sendable {
    /// The name its results are reported under.
    public var label: String
    public var plugin: StrategyPlugin
    /// Its parameters, a JSON object.
    public var config: String

    public init(label: String, plugin: StrategyPlugin, config: String = "{}") {
        self.label = label
        self.plugin = plugin
        self.config = config
    }
}

/// What the evaluation of one candidate found.
public struct CandidateEvaluation: Sendable {
    public var label: String
    public var plugin: String
    public var pluginVersion: String
    public var config: String
    /// Decisions the estimators used: those with a reward.
    public var decisions: Int
    /// Inverse propensity scoring: the mean of w·r, w = π(a)/p(a).
    public var ips: Estimate?
    /// Self-normalised IPS: Σ w·r / Σ w.
    public var snips: Estimate?
    /// Doubly robust: the reward model's value under the candidate plus the
    /// importance-weighted error of the model on the logged arm.
    public var doublyRobust: Estimate?
    /// (Σ w)² / Σ w²: how many decisions the weighted estimate is worth.
    public var effectiveSampleSize: Double
    /// Share of the decisions on which the candidate gives the logged arm
    /// probability 0: there the log says nothing about the candidate.
    public var zeroSupportShare: Double
    /// The mean and the largest importance weight.
    public var meanWeight: Double
    public var maxWeight: Double
    /// The candidate's true value on this log, when the log knows its arms'
    /// means: the mean over the decisions of Σ π(a)·μ(a).
    public var truth: Double?
    /// Why the candidate could not be evaluated; the figures are empty then.
    public var failure: String?
    /// How long its replay took, in seconds.
    public var seconds: Double = 0
    /// What makes the figures unreliable (low overlap between the candidate
    /// and the logging policy), for people; empty when nothing was found.
    public var warnings: [String] = []

    /// Below this effective sample size a few heavily weighted decisions
    /// carry the estimate, and its normal interval is too narrow (the usual
    /// rule of thumb for a normal approximation: 30 observations).
    public static let lowOverlapSize = 30.0
    /// Above this share of unsupported decisions the candidate mostly does what the log never shows.
    public static let unsupportedShare = 0.25

    mutating func diagnose() {
        guard decisions > 0 else {
            warnings.append("no logged decision has a reward: nothing to estimate from")
            return
        }
        let share = effectiveSampleSize / Double(decisions)
        if effectiveSampleSize < Self.lowOverlapSize {
            warnings.append("low overlap: the effective sample size is \(Int(effectiveSampleSize.rounded())) of \(decisions) decisions (\(Int((share * 100).rounded()))%), so a few heavily weighted decisions carry the estimate; its intervals are empirical Bernstein bounds, wide")
        }
        if zeroSupportShare > Self.unsupportedShare {
            warnings.append("on \(Int((zeroSupportShare * 100).rounded()))% of the decisions the candidate would never have chosen the logged arm: the log says little about what it does there")
        }
    }
}

/// The whole evaluation: the log and each candidate.
public struct EvaluationReport: Sendable {
    public var decisionsLogged: Int
    /// Decisions with at least one piece of feedback.
    public var decisionsWithFeedback: Int
    public var feedbackEvents: Int
    /// The logging policy's own mean reward on the decisions used, with its interval.
    public var logged: Estimate?
    public var candidates: [CandidateEvaluation]
    /// The reward given to decisions without feedback, or nil when they are left out.
    public var missingReward: Double?
}

/// Off-policy evaluation: what each candidate would have earned on a log.
///
/// Each candidate starts with no learned state and replays the log in time
/// order: at each logged decision it gives the probability of every eligible
/// arm (ABI 1.1's `probabilities`); each piece of logged feedback is then
/// learned by it, in order, as the production strategy learns. At decision i
/// with logged arm a, logging propensity p and reward r, the weight is
/// w = π_i(a)/p, and with a per-arm reward model q̂ (the running mean reward
/// of each arm in the feedback seen before the decision, shrunk to the
/// overall mean by one pseudo-observation):
///
/// - IPS = mean of w·r
/// - SNIPS = Σ w·r / Σ w
/// - DR = mean of Σ_b π_i(b)·q̂(b) + w·(r − q̂(a))
///
/// The estimand is V = mean over decisions of Σ_b π_i(b)·μ_i(b), μ_i(b) the
/// expected reward of arm b at decision i. `Docs/evaluation.md` states it
/// and the assumptions.
public struct OffPolicyEvaluator {
    /// The reward of a decision without feedback; nil leaves such decisions out.
    public var missingReward: Double?
    /// When given, the replay keeps to this share of one core.
    public var pace: CPUShare?

    public init(missingReward: Double? = nil, pace: CPUShare? = nil) {
        self.missingReward = missingReward
        self.pace = pace
    }

    public func evaluate(_ log: EvaluationLog, candidates: [Candidate]) -> EvaluationReport {
        // Each decision's reward: the weighted mean of its feedback.
        var rewardSum = [Double](repeating: 0, count: log.decisions.count)
        var rewardWeight = [Double](repeating: 0, count: log.decisions.count)
        var answered = [Bool](repeating: false, count: log.decisions.count)
        for entry in log.feedback {
            rewardSum[entry.decision] += entry.weight * entry.reward
            rewardWeight[entry.decision] += entry.weight
            answered[entry.decision] = true
        }
        let rewards: [Double?] = log.decisions.indices.map { index in
            if rewardWeight[index] > 0 { return rewardSum[index] / rewardWeight[index] }
            if answered[index] { return 0 }
            return missingReward
        }
        var logged = MeanAccumulator()
        for reward in rewards { if let reward { logged.add(reward) } }
        return EvaluationReport(
            decisionsLogged: log.decisions.count,
            decisionsWithFeedback: answered.lazy.filter { $0 }.count,
            feedbackEvents: log.feedback.count,
            logged: Estimate.mean(of: logged),
            candidates: candidates.map { evaluate($0, on: log, rewards: rewards) },
            missingReward: missingReward)
    }

    /// Replays the log for one candidate.
    func evaluate(_ candidate: Candidate, on log: EvaluationLog, rewards: [Double?]) -> CandidateEvaluation {
        var result = CandidateEvaluation(
            label: candidate.label, plugin: candidate.plugin.name, pluginVersion: candidate.plugin.version.description,
            config: candidate.config, decisions: 0, effectiveSampleSize: 0, zeroSupportShare: 0, meanWeight: 0, maxWeight: 0)
        if let reason = candidate.plugin.evaluationUnsupportedReason {
            result.failure = reason
            return result
        }
        let started = ContinuousClock.now
        do {
            try replay(candidate, on: log, rewards: rewards, into: &result)
        } catch {
            result.failure = "\(error)"
        }
        let elapsed = ContinuousClock.now - started
        result.seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
        return result
    }

    private func replay(_ candidate: Candidate, on log: EvaluationLog, rewards: [Double?],
                        into result: inout CandidateEvaluation) throws {
        let armCount = log.arms.count
        let instance = try candidate.plugin.makeInstance(config: candidate.config, armCount: armCount)
        let range = candidate.plugin.rewardRange
        var model = RewardModel(armCount: armCount)
        var probabilities: [Double] = []
        var batch: [FeedbackRecord] = []
        var ips = MeanAccumulator(), dr = MeanAccumulator(), truth = MeanAccumulator()
        var weights = 0.0, weightSquares = 0.0, weightedRewards = 0.0, maxWeight = 0.0
        var terms: [(weight: Double, reward: Double)] = []
        terms.reserveCapacity(log.decisions.count)
        var ipsTerms: [Double] = [], drTerms: [Double] = []
        ipsTerms.reserveCapacity(log.decisions.count)
        drTerms.reserveCapacity(log.decisions.count)
        var zeroSupport = 0
        var next = 0  // the next feedback entry to learn

        for (index, decision) in log.decisions.enumerated() {
            pace?.tick()
            // Learn every piece of feedback that arrived before this decision.
            while next < log.feedback.count, log.feedback[next].time < decision.time {
                let entry = log.feedback[next]
                guard range.contains(entry.reward) else {
                    throw InvalidLog("logged reward \(entry.reward) is outside the rewards \(candidate.plugin.name) accepts [\(range.lowerBound), \(range.upperBound)]")
                }
                batch.append(FeedbackRecord(arm: log.decisions[entry.decision].arm, reward: entry.reward, weight: entry.weight))
                model.learn(arm: Int(log.decisions[entry.decision].arm), reward: entry.reward, weight: entry.weight)
                next += 1
            }
            if !batch.isEmpty {
                try instance.update(batch)
                batch.removeAll(keepingCapacity: true)
            }
            try decision.eligible.withUnsafeBufferPointer { eligible throws(PluginCallError) in
                try instance.probabilities(eligible: eligible, into: &probabilities)
            }
            guard let reward = rewards[index] else { continue }
            var chosen = 0.0, modelValue = 0.0, trueValue = 0.0
            for (position, arm) in decision.eligible.enumerated() {
                let p = probabilities[position]
                if arm == decision.arm { chosen = p }
                modelValue += p * model.estimate(Int(arm))
                if let means = log.armMeans { trueValue += p * means[Int(arm)] }
            }
            let weight = chosen / decision.propensity
            if chosen == 0 { zeroSupport += 1 }
            ips.add(weight * reward)
            dr.add(modelValue + weight * (reward - model.estimate(Int(decision.arm))))
            ipsTerms.append(weight * reward)
            drTerms.append(modelValue + weight * (reward - model.estimate(Int(decision.arm))))
            truth.add(trueValue)
            weights += weight
            weightSquares += weight * weight
            weightedRewards += weight * reward
            maxWeight = max(maxWeight, weight)
            terms.append((weight, reward))
        }

        result.decisions = ips.count
        result.ips = Estimate.batchMean(of: ipsTerms)
        result.doublyRobust = Estimate.batchMean(of: drTerms)
        if weights > 0 {
            // The delta method: SNIPS − V ≈ Σ w(r − V) / Σ w, the mean of the
            // linearised terms n·w(r − V)/Σ w (batch means, as for IPS).
            let value = weightedRewards / weights
            let n = Double(terms.count)
            result.snips = Estimate.batchMean(of: terms.map { n * $0.weight * ($0.reward - value) / weights }, value: value)
            result.effectiveSampleSize = weights * weights / weightSquares
        }
        // Too little overlap for a normal interval: the empirical Bernstein
        // bound, which holds for a mean carried by a few heavy terms, kept
        // within the rewards the candidate accepts (its value lies there).
        if result.effectiveSampleSize < CandidateEvaluation.lowOverlapSize, ips.count > 1,
           range.lowerBound.isFinite, range.upperBound.isFinite {
            let width = range.upperBound - range.lowerBound
            let spread = max(0, maxWeight * range.upperBound, range.upperBound) - min(0, maxWeight * range.lowerBound, range.lowerBound)
            let n = Double(ips.count)
            let ipsVariance = max(0, ips.squares - n * ips.mean * ips.mean) / (n - 1)
            let drVariance = max(0, dr.squares - n * dr.mean * dr.mean) / (n - 1)
            let ipsHalf = Estimate.bernsteinHalfWidth(variance: ipsVariance, spread: spread, count: ips.count)
            result.ips = result.ips?.widened(to: ipsHalf, within: range)
            result.snips = result.snips?.widened(to: ipsHalf, within: range)
            result.doublyRobust = result.doublyRobust?.widened(
                to: Estimate.bernsteinHalfWidth(variance: drVariance, spread: spread + width, count: dr.count), within: range)
        }
        if ips.count > 0 {
            result.zeroSupportShare = Double(zeroSupport) / Double(ips.count)
            result.meanWeight = weights / Double(ips.count)
            result.maxWeight = maxWeight
            if log.armMeans != nil { result.truth = truth.mean }
        }
        result.diagnose()
    }
}

/// The doubly robust estimator's reward model: each arm's mean reward in the
/// feedback seen so far, shrunk toward the overall mean by one
/// pseudo-observation (so an arm never seen is predicted at the overall mean).
/// It only uses feedback from before each decision, so it cannot lean on the
/// reward it is about to correct.
struct RewardModel {
    private var sums: [Double]
    private var weights: [Double]
    private var totalSum = 0.0
    private var totalWeight = 0.0

    init(armCount: Int) {
        sums = Array(repeating: 0, count: armCount)
        weights = Array(repeating: 0, count: armCount)
    }

    mutating func learn(arm: Int, reward: Double, weight: Double) {
        sums[arm] += weight * reward
        weights[arm] += weight
        totalSum += weight * reward
        totalWeight += weight
    }

    func estimate(_ arm: Int) -> Double {
        let overall = totalWeight > 0 ? totalSum / totalWeight : 0
        return (sums[arm] + overall) / (weights[arm] + 1)
    }
}
