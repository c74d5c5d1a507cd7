internal import Logging
internal import PluginHost
internal import Storage
internal import Synchronization

extension Writer {
    /// Takes experiments out of memory while those in memory are estimated
    /// above the budget, the one used the longest ago first (of a random
    /// sample of 16, as Redis approximates LRU: no list to keep in order on
    /// the decision path). Those whose learning is all saved go first; when a
    /// sample has none, one with learning not saved yet is saved (reason
    /// `eviction`) and taken out, so that what leaves memory is exactly what
    /// its active version holds. At most `evictionsPerRound` per call: the
    /// writer calls it after every batch.
    func evictWhileOverBudget() {
        let budget = configuration.residentMemoryBytes
        var bytes = registry.residentFootprint.bytes
        guard bytes > budget else { return }
        // Below the budget by a margin, so that a stream of new experiments
        // does not make every round evict one.
        let target = budget - budget / 64
        // SplitMix64: the system's generator costs a system call per number.
        var generator = SeedSequence(seed: UInt64(bytes))
        let dirty = self.dirty
        // Whether all it learned is saved: none of its lineages has events
        // applied since its last version (the writer's own record of that).
        func saved(_ runtime: ExperimentRuntime) -> Bool {
            !runtime.shape.lineages.contains { dirty.contains($0.id) }
        }
        var evicted = 0
        while evicted < Self.evictionsPerRound, bytes > target {
            evicted += 1
            if let remaining = registry.evictOldest(ofSample: 16, using: &generator, canLeave: { $0.isStored && saved($0) }) {
                bytes = remaining
                continue
            }
            // None of the sample could leave as it is: one with learning not
            // saved yet is saved first, then taken out.
            guard let unsaved = registry.sampleResident(16, using: &generator).first(where: { $0.isStored && !saved($0) })
            else { break }
            do {
                try evict(unsaved)
            } catch {
                logger.error("experiment '\(unsaved.key)' stays in memory: saving it failed: \(error)")
                break
            }
            bytes = registry.residentFootprint.bytes
        }
    }

    /// Most experiments taken out of memory per call.
    static let evictionsPerRound = 4_096

    /// Saves what the experiment's strategies learned since their last
    /// version, then takes it out of memory.
    func evict(_ runtime: ExperimentRuntime) throws {
        for lineage in runtime.shape.lineages where dirty.contains(lineage.id) {
            _ = try save(lineage, reason: .eviction)
        }
        registry.evict(id: runtime.id)
    }
}
