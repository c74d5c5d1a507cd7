import ArbiterStrategyKit

/// The last propensity estimate, kept until the state changes or another
/// eligible set is asked for. Most traffic offers the same set of arms again
/// and again, so the Monte Carlo estimate is paid once per state change.
struct PropensityCache {
    private var eligible: [UInt32] = []
    private var probabilities: [Double] = []

    /// The cached probabilities for exactly this eligible list, if any.
    func lookup(_ arms: UnsafeBufferPointer<UInt32>) -> [Double]? {
        guard !probabilities.isEmpty, eligible.count == arms.count else { return nil }
        return eligible.withUnsafeBufferPointer { cached in
            cached.elementsEqual(arms)
        } ? probabilities : nil
    }

    mutating func store(_ arms: UnsafeBufferPointer<UInt32>, _ values: [Double]) {
        eligible = Array(arms)
        probabilities = values
    }

    mutating func invalidate() {
        probabilities.removeAll(keepingCapacity: true)
    }

    /// The fixed seed of the estimate for one eligible list (FNV-1a over the
    /// arm indices), so the estimate depends on nothing but state and arms.
    static func seed(for arms: UnsafeBufferPointer<UInt32>) -> UInt64 {
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for arm in arms {
            hash = (hash ^ UInt64(arm)) &* 0x0000_0100_0000_01B3
        }
        return hash
    }
}
