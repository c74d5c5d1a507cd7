/// A confidence interval of a mean reward.
public struct Interval: Sendable, Equatable {
    /// How the interval was computed.
    public enum Method: String, Sendable {
        /// Wilson's score interval, for rewards in [0, 1].
        case wilson
        /// The normal approximation from the sample variance.
        case normal
    }

    /// The confidence level, e.g. 0.95.
    public var level: Double
    public var lower: Double
    public var upper: Double
    public var method: Method

    /// The 95% quantile of the standard normal distribution.
    static let z95 = 1.959964

    /// A 95% interval of the mean of weighted rewards: Wilson's score interval
    /// when every reward lies in [0, 1] (it stays inside [0, 1] and behaves
    /// at small counts and means near 0 or 1), the normal approximation otherwise.
    /// - Parameters:
    ///   - mean: the weighted mean reward.
    ///   - squares: the weighted sum of squared rewards.
    ///   - weight: the total weight (the count for unit weights); above 0.
    ///   - bounded: the rewards are known to lie in [0, 1].
    public static func of(mean: Double, squares: Double, weight n: Double, bounded: Bool) -> Interval {
        let z = z95
        if bounded {
            let p = min(max(mean, 0), 1)
            let denominator = 1 + z * z / n
            let centre = (p + z * z / (2 * n)) / denominator
            let half = z * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot() / denominator
            // At p = 0 and p = 1 the bound on that side is exactly 0 or 1;
            // the sum above lands a rounding error inside it (0.9999999999999998).
            let lower = p == 0 ? 0 : max(0, centre - half)
            let upper = p == 1 ? 1 : min(1, centre + half)
            return Interval(level: 0.95, lower: lower, upper: upper, method: .wilson)
        }
        let variance = max(0, squares / n - mean * mean)
        let half = z * (variance / n).squareRoot()
        return Interval(level: 0.95, lower: mean - half, upper: mean + half, method: .normal)
    }
}
