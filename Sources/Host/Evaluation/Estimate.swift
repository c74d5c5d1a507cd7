/// An estimated value with its standard error and 95% interval.
public struct Estimate: Sendable, Equatable {
    public var value: Double
    public var standardError: Double
    /// The 95% interval, value ± 1.96 standard errors (normal approximation).
    public var low: Double
    public var high: Double

    /// The two-sided 95% quantile of the normal distribution.
    public static let z95 = 1.959963984540054

    public init(value: Double, standardError: Double) {
        self.value = value
        self.standardError = standardError
        self.low = value - Self.z95 * standardError
        self.high = value + Self.z95 * standardError
    }

    /// Whether the interval contains `truth`.
    public func covers(_ truth: Double) -> Bool { low <= truth && truth <= high }

    /// The mean of `terms` with the standard error of a mean (sample standard
    /// deviation over the square root of n); nil for fewer than one term.
    static func mean(of terms: MeanAccumulator) -> Estimate? {
        guard terms.count > 0 else { return nil }
        let n = Double(terms.count)
        let variance = terms.count > 1 ? max(0, terms.squares - n * terms.mean * terms.mean) / (n - 1) : 0
        return Estimate(value: terms.mean, standardError: (variance / n).squareRoot())
    }
}

/// A running mean and sum of squares (Welford's update for the mean).
struct MeanAccumulator {
    var count = 0
    var mean = 0.0
    var sum = 0.0
    var squares = 0.0

    mutating func add(_ value: Double) {
        count += 1
        sum += value
        squares += value * value
        mean += (value - mean) / Double(count)
    }
}
