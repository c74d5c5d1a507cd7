#if canImport(Glibc)
public import Glibc
#elseif canImport(Darwin)
public import Darwin
#endif

extension Xoshiro256 {
    /// A Gamma(shape, 1) draw for shape > 0 (Marsaglia and Tsang, 2000; for
    /// shape < 1 the boost Gamma(shape + 1) * U^(1/shape)).
    @inlinable
    public mutating func nextGamma(shape: Double) -> Double {
        if shape < 1 {
            let boost = pow(nextOpenUnit(), 1 / shape)
            return nextGamma(shape: shape + 1) * boost
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            var x: Double
            var v: Double
            repeat {
                x = nextNormal()
                v = 1 + c * x
            } while v <= 0
            v = v * v * v
            let u = nextOpenUnit()
            let x2 = x * x
            if u < 1 - 0.0331 * x2 * x2 {
                return d * v
            }
            if log(u) < 0.5 * x2 + d * (1 - v + log(v)) {
                return d * v
            }
        }
    }

    /// A Beta(alpha, beta) draw for alpha, beta > 0, as X / (X + Y) with
    /// X ~ Gamma(alpha) and Y ~ Gamma(beta).
    @inlinable
    public mutating func nextBeta(alpha: Double, beta: Double) -> Double {
        let x = nextGamma(shape: alpha)
        let y = nextGamma(shape: beta)
        let sum = x + y
        return sum > 0 ? x / sum : (alpha >= beta ? 1 : 0)
    }
}
