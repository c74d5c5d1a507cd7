internal import Logging
internal import Storage
internal import Synchronization

extension Writer {
    /// Takes experiments out of memory while those in memory are estimated
    /// above the budget, the one used the longest ago first (of a random
    /// sample of 16, as Redis approximates LRU: no list to keep in order on
    /// the decision path). A strategy with learning not saved yet is saved
    /// first (reason `eviction`), so that what leaves memory is exactly what
    /// its active version holds. At most `evictionsPerRound` per call: the
    /// writer calls it after every batch.
    func evictWhileOverBudget() {
        let budget = configuration.residentMemoryBytes
        guard registry.residentFootprint.bytes > budget else { return }
        var generator = SystemRandomNumberGenerator()
        var evicted = 0
        while evicted < Self.evictionsPerRound, registry.residentFootprint.bytes > budget {
            let sample = registry.sampleResident(16, using: &generator)
            guard let victim = sample.min(by: { $0.lastUsed < $1.lastUsed }) else { break }
            do {
                try evict(victim)
                evicted += 1
            } catch {
                logger.error("experiment '\(victim.key)' stays in memory: saving it failed: \(error)")
                break
            }
        }
    }

    /// Most experiments taken out of memory per call.
    static let evictionsPerRound = 4_096

    /// Saves what the experiment's strategies learned since their last
    /// version, then takes it out of memory.
    func evict(_ runtime: ExperimentRuntime) throws {
        for lineage in runtime.shape.lineages where lineage.state.withLock({ $0.unsavedEvents > 0 }) {
            _ = try save(lineage, reason: .eviction)
        }
        registry.evict(id: runtime.id)
    }
}
