internal import PluginHost

/// A synthetic bandit: arm `i` pays 1 with probability `means[i]`, else 0.
/// Rewards are a pure function of (seed, run, step, arm), so every strategy in
/// a run meets the same outcomes (common random numbers) and every run can be
/// repeated bit for bit. With `drift`, the means are reversed halfway through.
public struct BernoulliEnvironment: Sendable {
    public let means: [Double]
    public let horizon: Int
    public let drift: Bool
    public let seed: UInt64

    public init(means: [Double], horizon: Int, drift: Bool, seed: UInt64) {
        self.means = means
        self.horizon = horizon
        self.drift = drift
        self.seed = seed
    }

    /// Whether step `t` is in the reversed half.
    @inline(__always)
    func reversed(at t: Int) -> Bool { drift && t >= horizon / 2 }

    /// The mean of `arm` at step `t`.
    @inline(__always)
    public func mean(of arm: Int, at t: Int) -> Double {
        reversed(at: t) ? means[means.count - 1 - arm] : means[arm]
    }

    /// The best arm at step `t` and its mean.
    public func best(at t: Int) -> (arm: Int, mean: Double) {
        var bestArm = 0
        for arm in means.indices where mean(of: arm, at: t) > mean(of: bestArm, at: t) {
            bestArm = arm
        }
        return (bestArm, mean(of: bestArm, at: t))
    }

    /// The key every draw of step `t` of `run` derives from.
    @inline(__always)
    public func stepKey(at t: Int, run: Int) -> UInt64 {
        SeedSequence.combine(seed, UInt64(run), UInt64(t))
    }

    /// The reward `arm` pays at the step of `key` (step `t`).
    @inline(__always)
    public func reward(of arm: Int, at t: Int, key: UInt64) -> Double {
        SeedSequence.unit(key ^ (UInt64(arm + 1) &* 0x9E37_79B9_7F4A_7C15)) < mean(of: arm, at: t) ? 1 : 0
    }

    /// The seed of the decision at the step of `key`.
    @inline(__always)
    public func decisionSeed(key: UInt64) -> UInt64 {
        SeedSequence.mix(key)
    }
}
