internal import Logging
internal import PluginHost
internal import Storage
internal import Synchronization

/// Rebuilds the run-time state from the store at start-up. Every experiment
/// becomes known by its key; only the experiments with a strategy that has
/// events committed after its active version are loaded, and those events
/// replayed in order. Because plugins learn from records one by one in order,
/// the result is byte-identical to the state before the restart. Every other
/// experiment is loaded on first use, from its active versions.
struct Recovery {
    let store: Store
    let loader: ExperimentLoader
    let logger: Logger

    struct Result {
        var registry: Registry
        /// Lineages with replayed (unsaved) events.
        var dirty: Set<Int64>
        var replayed: Int
        var loaded: Int
    }

    func restore() throws -> Result {
        let registry = Registry()
        for tenant in try store.tenants() { registry.add(tenant: tenant) }
        var keys: [(id: Int64, tenantID: Int64, key: String)] = []
        try store.forEachExperimentKey { id, tenantID, key in keys.append((id, tenantID, key)) }
        registry.register(keys)
        keys = []

        // The experiments with events to replay, loaded now.
        let unsaved = try store.strategiesWithUnsavedEvents()
        var lineages: [Int64: Lineage] = [:]
        var recorded: [Int64: Int64] = [:]
        for experimentID in Set(unsaved.map(\.experimentID)).sorted() {
            guard let tenantID = registry.tenantID(ofExperiment: experimentID), let tenant = registry.tenant(id: tenantID),
                  let runtime = try loader.load(id: experimentID, tenantName: tenant.name, from: store) else { continue }
            registry.install(runtime)
            for lineage in runtime.shape.lineages { lineages[lineage.id] = lineage }
        }
        for strategy in unsaved { recorded[strategy.id] = strategy.lastEventID }

        // Replay, in sequence order, the events each of them has not seen.
        var watermarks: [Int64: Int64] = [:]
        for id in recorded.keys {
            guard let lineage = lineages[id] else { continue }
            watermarks[id] = lineage.state.withLock { $0.instance == nil ? Int64.max : $0.appliedThrough }
        }
        var pending: [Int64: (records: [FeedbackRecord], last: Int64)] = [:]
        var replayed = 0
        var dirty = Set<Int64>()
        func flush(_ id: Int64) {
            guard let batch = pending.removeValue(forKey: id), let lineage = lineages[id] else { return }
            lineage.state.withLock { _ = $0.apply(batch.records, through: batch.last) }
            dirty.insert(id)
        }
        let start = watermarks.values.min() ?? Int64.max
        if start < Int64.max {
            try store.forEachEvent(after: start) { event in
                guard let watermark = watermarks[event.strategyID], event.id > watermark else { return }
                pending[event.strategyID, default: ([], 0)].records.append(
                    FeedbackRecord(arm: UInt32(event.arm), reward: event.reward, weight: event.weight))
                pending[event.strategyID]!.last = event.id
                replayed += 1
                if pending[event.strategyID]!.records.count >= 10_000 { flush(event.strategyID) }
            }
        }
        for id in Array(pending.keys) { flush(id) }

        for (id, last) in recorded {
            guard let lineage = lineages[id], let applied = lineage.state.withLock({ $0.instance == nil ? nil : $0.appliedThrough }) else { continue }
            if applied != last {
                logger.warning("strategy \(lineage.name) (lineage \(id)) restored through event \(applied), but its last committed event is \(last)")
            }
        }
        return Result(registry: registry, dirty: dirty, replayed: replayed, loaded: registry.residentFootprint.count)
    }
}
