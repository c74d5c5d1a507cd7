/// Derives 64-bit seeds with SplitMix64 (Steele, Lea and Flood): the host's
/// source of per-decision seeds and of the uniform fallback choice.
public struct SeedSequence: Sendable, RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) {
        state = seed
    }

    /// The next seed of the sequence.
    public mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        return SeedSequence.mix(state)
    }

    /// The SplitMix64 finaliser: a bijective, well-mixed function of `value`.
    public static func mix(_ value: UInt64) -> UInt64 {
        var z = value
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// A seed determined by several values, e.g. (run seed, run, step).
    @inline(__always)
    public static func combine(_ a: UInt64, _ b: UInt64, _ c: UInt64 = 0) -> UInt64 {
        var hash: UInt64 = 0x6A09_E667_F3BC_C909
        hash = mix(hash ^ mix(a &+ 0x9E37_79B9_7F4A_7C15))
        hash = mix(hash ^ mix(b &+ 0x9E37_79B9_7F4A_7C15))
        return mix(hash ^ mix(c &+ 0x9E37_79B9_7F4A_7C15))
    }

    /// A uniform double in [0, 1) from a seed.
    public static func unit(_ seed: UInt64) -> Double {
        Double(mix(seed) >> 11) * 0x1.0p-53
    }
}
