internal import Logging
internal import PluginHost
internal import Storage

/// Builds an experiment's run-time form from the store: its arms, and each
/// strategy from its active version (or empty when it has none). A strategy
/// whose plugin is missing or whose state cannot be read is kept,
/// unavailable, with the reason.
///
/// An experiment that is not in memory has no unsaved learning (it was saved
/// before it left memory, or never learned), so its strategies' active
/// versions hold every event committed for them; the events committed after
/// a crash are replayed by `Recovery` before anything is served.
struct ExperimentLoader {
    let plugins: PluginLibrary
    let logger: Logger

    /// The experiment `id` from `store`, or nil when there is none.
    func load(id: Int64, tenantName: String, from store: Store) throws -> ExperimentRuntime? {
        guard let record = try store.experiment(id: id) else { return nil }
        return try load(record, tenantName: tenantName, from: store)
    }

    func load(_ record: ExperimentRecord, tenantName: String, from store: Store) throws -> ExperimentRuntime {
        let lineages = try store.strategies(experimentID: record.id).map { strategy in
            try lineage(strategy, armCount: record.arms.count, experiment: record.key, store: store)
        }
        return ExperimentRuntime(record: record, tenantName: tenantName, shape: .init(
            arms: record.arms, lineages: lineages, assignment: record.assignment, status: record.status,
            updatedAt: record.updatedAt))
    }

    /// One lineage from its active version, or empty when it has none.
    private func lineage(_ record: StrategyRecord, armCount: Int, experiment: String, store: Store) throws -> Lineage {
        var state = Lineage.State(plugin: plugins.plugin(named: record.plugin, pinned: record.pluginVersion), instance: nil,
                                  config: record.config, weight: record.weight)
        func unavailable(_ reason: String) -> Lineage {
            logger.error("strategy '\(record.name)' of experiment '\(experiment)' is unavailable: \(reason)")
            state.unavailable = reason
            return Lineage(record, state: state)
        }
        guard let plugin = state.plugin else {
            return unavailable(record.pluginVersion.map { "version \($0) of plugin '\(record.plugin)', which it is pinned to, is not loaded" }
                               ?? "plugin '\(record.plugin)' is not loaded")
        }
        let active = try store.activeVersion(strategyID: record.id)
        do {
            let instance: StrategyInstance
            if let active {
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
        return Lineage(record, state: state)
    }
}
