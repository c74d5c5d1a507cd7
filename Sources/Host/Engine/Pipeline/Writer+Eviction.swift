internal import Logging
internal import Storage

extension Writer {
    /// Takes experiments out of memory while those in memory are estimated
    /// above the budget, those not used since the eviction clock's hand last
    /// passed them (CLOCK, an approximation of least recently used with no
    /// list to keep in order on the decision path), up to `batch` at a time.
    /// (A random sample of 64 per batch, its oldest quarter taken out, as
    /// Redis does, read four experiments per one taken out: 6% of the
    /// server's time while experiments were created past the budget; the
    /// hand reads about two.) Those whose learning is all saved go first;
    /// when a batch has none, one with learning not saved yet is saved
    /// (reason `eviction`) and taken out, so that what leaves memory is
    /// exactly what its active version holds. At most about
    /// `evictionsPerRound` per call: the writer calls it after every batch.
    func evictWhileOverBudget() {
        let budget = configuration.residentMemoryBytes
        var bytes = registry.residentFootprint.bytes
        guard bytes > budget else { return }
        // Below the budget by a margin, so that a stream of new experiments
        // does not make every round evict one.
        let target = budget - budget / 64
        let dirty = self.dirty
        // Whether all it learned is saved: none of its lineages has events
        // applied since its last version (the writer's own record of that).
        func saved(_ runtime: ExperimentRuntime) -> Bool {
            !runtime.shape.lineages.contains { dirty.contains($0.id) }
        }
        var evicted = 0
        while evicted < Self.evictionsPerRound, bytes > target {
            // No more than brings memory to the target: with a budget of a
            // few experiments, a whole batch would be all of them.
            let footprint = registry.residentFootprint
            let each = max(1, footprint.bytes / max(1, footprint.count))
            let needed = max(1, (footprint.bytes - target + each - 1) / each)
            let candidates = registry.unusedSinceLastPass(min(Self.batch, needed))
            guard !candidates.isEmpty else { break }
            let batch = registry.evict(candidates.filter { $0.isStored && saved($0) })
            bytes = batch.remaining
            if batch.evicted > 0 {
                evicted += batch.evicted
                continue
            }
            evicted += 1
            // None of the batch could leave as it is: one with learning not
            // saved yet is saved first, then taken out.
            guard let unsaved = candidates.first(where: { $0.isStored && !saved($0) }) else { break }
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

    /// Most experiments taken out of memory at a time.
    static let batch = 16

    /// Saves what the experiment's strategies learned since their last
    /// version, then takes it out of memory.
    func evict(_ runtime: ExperimentRuntime) throws {
        for lineage in runtime.shape.lineages where dirty.contains(lineage.id) {
            _ = try save(lineage, reason: .eviction)
        }
        registry.evict(id: runtime.id)
    }
}
