internal import PluginHost
#if canImport(Glibc)
internal import Glibc
#endif

/// The probability that each of several means is the largest, and the
/// expected loss of choosing each, by Monte Carlo over their posteriors
/// with a fixed seed (the same figures give the same answer).
struct PosteriorComparison {
    /// A posterior of one mean reward.
    enum Posterior {
        /// Beta(alpha, beta): rewards in [0, 1], a uniform prior.
        case beta(alpha: Double, beta: Double)
        /// Normal(mean, sd): the normal approximation of a sample mean.
        case normal(mean: Double, sd: Double)
    }

    static let draws = 20_000

    /// For each posterior, P(it is the largest) and E[max − it].
    static func compare(_ posteriors: [Posterior]) -> [(probabilityBest: Double, expectedLoss: Double)] {
        guard posteriors.count > 1 else { return posteriors.map { _ in (1, 0) } }
        var random = PosteriorDraws(seeds: SeedSequence(seed: 0x5EED_A4B7_2026_0001))
        var wins = [Double](repeating: 0, count: posteriors.count)
        var loss = [Double](repeating: 0, count: posteriors.count)
        var sample = [Double](repeating: 0, count: posteriors.count)
        for _ in 0..<draws {
            var best = 0
            for (index, posterior) in posteriors.enumerated() {
                sample[index] = random.draw(posterior)
                if sample[index] > sample[best] { best = index }
            }
            wins[best] += 1
            for index in posteriors.indices { loss[index] += sample[best] - sample[index] }
        }
        return posteriors.indices.map { (wins[$0] / Double(draws), loss[$0] / Double(draws)) }
    }
}

/// The draws the comparison needs, from the host's SplitMix64 sequence.
struct PosteriorDraws {
    var seeds: SeedSequence

    /// Uniform in (0, 1).
    mutating func unit() -> Double {
        (Double(seeds.next() >> 11) + 0.5) / 9_007_199_254_740_992
    }

    mutating func normal() -> Double {
        // Box-Muller; one of the pair is enough here.
        (-2 * log(unit())).squareRoot() * cos(2 * Double.pi * unit())
    }

    /// Gamma(shape, 1): Marsaglia and Tsang, boosted below shape 1.
    mutating func gamma(_ shape: Double) -> Double {
        if shape < 1 { return gamma(shape + 1) * pow(unit(), 1 / shape) }
        let d = shape - 1.0 / 3, c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double, v: Double
            repeat { x = normal(); v = 1 + c * x } while v <= 0
            v = v * v * v
            let u = unit()
            if u < 1 - 0.0331 * x * x * x * x || log(u) < 0.5 * x * x + d * (1 - v + log(v)) { return d * v }
        }
    }

    mutating func draw(_ posterior: PosteriorComparison.Posterior) -> Double {
        switch posterior {
        case let .beta(alpha, beta):
            let x = gamma(alpha), y = gamma(beta)
            return x / (x + y)
        case let .normal(mean, sd):
            return mean + sd * normal()
        }
    }
}
