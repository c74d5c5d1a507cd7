/// xoshiro256**: a small, fast generator with 256 bits of state (Blackman and
/// Vigna). Seeded from one 64-bit decision seed through SplitMix64, as its
/// authors recommend, so every decision draws from its own stream.
public struct Xoshiro256: RandomNumberGenerator {
    @usableFromInline var s0: UInt64
    @usableFromInline var s1: UInt64
    @usableFromInline var s2: UInt64
    @usableFromInline var s3: UInt64

    /// A generator whose whole stream is determined by `seed`.
    @inlinable
    public init(seed: UInt64) {
        var mixer = seed
        s0 = Xoshiro256.splitMix(&mixer)
        s1 = Xoshiro256.splitMix(&mixer)
        s2 = Xoshiro256.splitMix(&mixer)
        s3 = Xoshiro256.splitMix(&mixer)
    }

    /// One step of SplitMix64 (Steele, Lea and Flood).
    @inlinable
    public static func splitMix(_ state: inout UInt64) -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    @inlinable
    public mutating func next() -> UInt64 {
        let result = ((s1 &* 5) << 7 | (s1 &* 5) >> 57) &* 9
        let t = s1 << 17
        s2 ^= s0
        s3 ^= s1
        s1 ^= s2
        s0 ^= s3
        s2 ^= t
        s3 = s3 << 45 | s3 >> 19
        return result
    }

    /// A uniform double in [0, 1) with 53 random bits.
    @inlinable
    public mutating func nextUnit() -> Double {
        Double(next() >> 11) * 0x1.0p-53
    }

    /// A uniform double in (0, 1), safe to take the logarithm of.
    @inlinable
    public mutating func nextOpenUnit() -> Double {
        (Double(next() >> 12) + 0.5) * 0x1.0p-52
    }

    /// A uniform integer in 0..<bound (bound > 0), without modulo bias
    /// (Lemire's method).
    @inlinable
    public mutating func nextIndex(below bound: Int) -> Int {
        let range = UInt64(bound)
        var product = next().multipliedFullWidth(by: range)
        if product.low < range {
            let threshold = (0 &- range) % range
            while product.low < threshold {
                product = next().multipliedFullWidth(by: range)
            }
        }
        return Int(product.high)
    }
}
