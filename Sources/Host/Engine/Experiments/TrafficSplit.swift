internal import PluginHost

/// Chooses which of an experiment's strategies makes a decision, in
/// proportion to their weights: from the decision's seed (random assignment),
/// or from the unit id (sticky assignment: a unit keeps its strategy while the
/// weights stay the same).
enum TrafficSplit {
    /// The chosen lineage and its share of traffic, or nil when no strategy can take traffic.
    static func choose(_ lineages: [Lineage], weights: [Double], draw: Double) -> (lineage: Lineage, share: Double)? {
        let total = weights.reduce(0, +)
        guard total > 0 else { return nil }
        var cumulative = 0.0
        let target = draw * total
        for (lineage, weight) in zip(lineages, weights) where weight > 0 {
            cumulative += weight
            if target < cumulative { return (lineage, weight / total) }
        }
        let last = Array(zip(lineages, weights)).last { $0.1 > 0 }!
        return (last.0, last.1 / total)
    }

    /// The uniform draw in [0, 1) that picks the strategy.
    static func draw(seed: UInt64, unitID: String?, experimentID: Int64, sticky: Bool) -> Double {
        guard sticky, let unitID else {
            return SeedSequence.unit(seed ^ 0x7A3F_11C2_90DB_5E17)
        }
        var hash: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in unitID.utf8 {
            hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
        }
        return SeedSequence.unit(SeedSequence.combine(hash, UInt64(bitPattern: experimentID)))
    }
}
