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

    /// An estimate whose interval is not value ± 1.96 standard errors (a
    /// Student t quantile, or a finite-sample bound).
    public init(value: Double, standardError: Double, low: Double, high: Double) {
        self.value = value
        self.standardError = standardError
        self.low = low
        self.high = high
    }

    /// Blocks of the batch-means standard error.
    static let batches = 20
    /// The two-sided 95% quantile of Student's t with `batches` − 1 = 19
    /// degrees of freedom.
    static let t95Batches = 2.093024054408263

    /// The mean of `terms`, in the order they were logged, with a
    /// batch-means standard error: the terms cut into 20 consecutive blocks,
    /// the spread of the block means, and a t interval with 19 degrees of
    /// freedom. A log of adaptive policies (the logging one and the candidate
    /// both learn as it goes) is not a sequence of independent terms: nearby
    /// terms move together, which the plain standard error of a mean does not
    /// see. Below 40 terms, the plain one.
    /// - Parameter center: the value the terms' mean estimates (the mean by
    ///   default; 0 for the linearised terms of a ratio).
    static func batchMean(of terms: [Double], value: Double? = nil) -> Estimate? {
        guard !terms.isEmpty else { return nil }
        let n = Double(terms.count)
        let mean = terms.reduce(0, +) / n
        guard terms.count >= 2 * batches else {
            if value != nil {
                // Linearised terms, centred at 0 by construction: the delta
                // method's Σ x² / n².
                return Estimate(value: value!, standardError: terms.reduce(0.0) { $0 + $1 * $1 }.squareRoot() / n)
            }
            let variance = terms.count > 1 ? terms.reduce(0.0) { $0 + ($1 - mean) * ($1 - mean) } / (n - 1) : 0
            return Estimate(value: mean, standardError: (variance / n).squareRoot())
        }
        let size = terms.count / batches
        var means: [Double] = []
        means.reserveCapacity(batches)
        for block in 0..<batches {
            let end = block == batches - 1 ? terms.count : (block + 1) * size
            means.append(terms[(block * size)..<end].reduce(0, +) / Double(end - block * size))
        }
        let center = means.reduce(0, +) / Double(batches)
        let variance = means.reduce(0.0) { $0 + ($1 - center) * ($1 - center) } / Double(batches - 1)
        let standardError = (variance / Double(batches)).squareRoot()
        let estimate = value ?? mean
        return Estimate(value: estimate, standardError: standardError,
                        low: estimate - t95Batches * standardError, high: estimate + t95Batches * standardError)
    }

    /// The empirical Bernstein bound (Maurer and Pontil, 2009) at 95% for the
    /// mean of `count` terms of sample variance `variance`, each within a
    /// range of `spread`: a finite-sample interval that holds however few
    /// heavy terms carry the mean, where a normal interval does not.
    static func bernsteinHalfWidth(variance: Double, spread: Double, count: Int) -> Double {
        guard count > 1 else { return .infinity }
        let n = Double(count)
        let log = 3.6888794541139363  // ln(2 / 0.05)
        return (2 * variance * log / n).squareRoot() + 7 * spread * log / (3 * (n - 1))
    }

    /// The same estimate with its interval widened to at least `half` either
    /// side, and kept within `bounds` (the range the true value lies in).
    func widened(to half: Double, within bounds: ClosedRange<Double>) -> Estimate {
        Estimate(value: value, standardError: standardError,
                 low: max(bounds.lowerBound, min(low, value - half)), high: min(bounds.upperBound, max(high, value + half)))
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
