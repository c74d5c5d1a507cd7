internal import Logging
internal import PluginHost
internal import Storage
internal import Synchronization

/// Rebuilds the run-time state from the store at start-up: every strategy
/// from its latest active version (or empty), then the events logged after
/// that version's watermark, replayed in order. Because plugins learn from
/// records one by one in order, the result is byte-identical to the state
/// before the restart.
struct Recovery {
    let store: Store
    let catalog: PluginCatalog
    let logger: Logger

    struct Result {
        var registry: Registry
        /// Lineages with replayed (unsaved) events.
        var dirty: Set<Int64>
        var replayed: Int
    }

    func restore() throws -> Result {
        let registry = Registry()
        for tenant in try store.tenants() { registry.add(tenant: tenant) }
        let arms = Dictionary(grouping: try store.arms(), by: \.experimentID)
        let strategies = Dictionary(grouping: try store.strategies(), by: \.experimentID)
        var lineages: [Int64: Lineage] = [:]
        var recorded: [Int64: Int64] = [:]

        for experiment in try store.experiments() {
            guard let tenant = registry.tenant(id: experiment.tenantID) else { continue }
            let names = (arms[experiment.id] ?? []).sorted { $0.index < $1.index }.map(\.name)
            let restored = (strategies[experiment.id] ?? []).map { record in
                recorded[record.id] = record.lastEventID
                return lineage(record, armCount: names.count, experiment: experiment.key)
            }
            for lineage in restored { lineages[lineage.id] = lineage }
            registry.add(experiment: ExperimentRuntime(record: experiment, tenantName: tenant.name, shape: .init(
                arms: names, lineages: restored, assignment: experiment.assignment, status: experiment.status,
                updatedAt: experiment.updatedAt)))
        }

        // Replay, in sequence order, the events each lineage has not seen.
        var watermarks = lineages.mapValues { lineage in
            lineage.state.withLock { $0.instance == nil ? Int64.max : $0.appliedThrough }
        }
        var pending: [Int64: (records: [FeedbackRecord], last: Int64)] = [:]
        var replayed = 0
        var dirty = Set<Int64>()
        func flush(_ id: Int64) {
            guard let batch = pending.removeValue(forKey: id), let lineage = lineages[id] else { return }
            lineage.state.withLock { _ = $0.apply(batch.records, through: batch.last) }
            dirty.insert(id)
        }
        let start = watermarks.values.min() ?? 0
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
        watermarks.removeAll()

        for (id, lineage) in lineages {
            let applied = lineage.state.withLock { $0.instance == nil ? nil : $0.appliedThrough }
            if let applied, let last = recorded[id], applied != last {
                logger.warning("strategy \(lineage.name) (lineage \(id)) restored through event \(applied), but its last committed event is \(last)")
            }
        }
        return Result(registry: registry, dirty: dirty, replayed: replayed)
    }

    /// One lineage from its active version, or empty when it has none. A
    /// lineage whose plugin is missing or whose state cannot be read is kept,
    /// unavailable, with the reason.
    private func lineage(_ record: StrategyRecord, armCount: Int, experiment: String) -> Lineage {
        var state = Lineage.State(plugin: catalog.plugin(named: record.plugin), instance: nil, config: record.config, weight: record.weight)
        func unavailable(_ reason: String) -> Lineage {
            logger.error("strategy '\(record.name)' of experiment '\(experiment)' is unavailable: \(reason)")
            state.unavailable = reason
            return Lineage(id: record.id, experimentID: record.experimentID, name: record.name, pluginName: record.plugin, state: state)
        }
        guard let plugin = state.plugin else { return unavailable("plugin '\(record.plugin)' is not loaded") }
        do {
            let instance: StrategyInstance
            if let active = try store.activeVersion(strategyID: record.id) {
                guard stateChecksum(active.state) == active.checksum else {
                    return unavailable("version \(active.version) fails its checksum")
                }
                instance = try plugin.restoreInstance(config: record.config, state: active.state)
                state.activeVersion = active.version
                state.appliedThrough = active.watermark
            } else {
                instance = try plugin.makeInstance(config: record.config, armCount: armCount)
            }
            if instance.armCount < armCount { try instance.addArms(armCount - instance.armCount) }
            state.instance = instance
        } catch {
            return unavailable("its state cannot be restored: \(error)")
        }
        return Lineage(id: record.id, experimentID: record.experimentID, name: record.name, pluginName: record.plugin, state: state)
    }
}
