internal import Logging
internal import PluginHost
internal import Storage
internal import Synchronization

extension Writer {
    /// Takes experiments out of memory while those in memory are estimated
    /// above the budget, those used the longest ago first: the oldest quarter
    /// of a random sample of 64 at a time, as Redis approximates LRU (no list
    /// to keep in order on the decision path; a sample per experiment taken
    /// out cost a tenth of the server's time while experiments were created
    /// past the budget). Those whose learning is all saved go first; when a
    /// sample has none, one with learning not saved yet is saved (reason
    /// `eviction`) and taken out, so that what leaves memory is exactly what
    /// its active version holds. At most about `evictionsPerRound` per call:
    /// the writer calls it after every batch.
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
            // No more than brings memory to the target: with a budget of a
            // few experiments, a quarter of the sample would be all of them.
            let footprint = registry.residentFootprint
            let each = max(1, footprint.bytes / max(1, footprint.count))
            let needed = max(1, (footprint.bytes - target + each - 1) / each)
            let batch = registry.evictOldest(min(Self.sample / 4, needed), ofSample: Self.sample, using: &generator,
                                             canLeave: { $0.isStored && saved($0) })
            bytes = batch.remaining
            if batch.evicted > 0 {
                evicted += batch.evicted
                continue
            }
            evicted += 1
            // None of the sample could leave as it is: one with learning not
            // saved yet is saved first, then taken out.
            guard let unsaved = registry.sampleResident(Self.sample / 4, using: &generator).first(where: { $0.isStored && !saved($0) })
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

    /// Experiments sampled at random for each batch taken out of memory.
    static let sample = 64

    /// Saves what the experiment's strategies learned since their last
    /// version, then takes it out of memory.
    func evict(_ runtime: ExperimentRuntime) throws {
        for lineage in runtime.shape.lineages where dirty.contains(lineage.id) {
            _ = try save(lineage, reason: .eviction)
        }
        registry.evict(id: runtime.id)
    }
}
