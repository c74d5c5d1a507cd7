internal import JSON
internal import Storage
internal import Logging
internal import PluginHost
internal import Synchronization

extension Engine {
    /// Saves a new version of every strategy (of the tenant, or of one of its
    /// experiments) that learned something since its last version; of one
    /// experiment, also of each strategy never saved. Returns the versions
    /// written. (An experiment not in memory has nothing unsaved.)
    public func saveVersions(tenant: String? = nil, experiment key: String? = nil) async throws(EngineError) -> [VersionInfo] {
        var experiments: [ExperimentRuntime]
        if let tenant {
            guard let record = registry.tenant(named: tenant) else { throw .unknownTenant(tenant) }
            if let key {
                experiments = [try runtime(tenant: tenant, key: key)]
            } else {
                experiments = registry.residentExperiments(tenantID: record.id)
            }
        } else {
            experiments = registry.residentExperiments()
        }
        let targets = experiments.flatMap { experiment in experiment.shape.lineages.map { (experiment.key, $0) } }
        return try await write { writer in
            var written: [VersionInfo] = []
            for (key, lineage) in targets {
                let needed = lineage.state.withLock { $0.unsavedEvents > 0 || $0.activeVersion == 0 }
                guard needed, let record = try writer.save(lineage, reason: .onDemand) else { continue }
                written.append(VersionInfo(record, experiment: key, strategy: lineage.name))
            }
            return written
        }
    }

    /// A page of the versions of one strategy of an experiment, newest first:
    /// at most `limit` (1 to 1,000) below the version `cursor` names.
    public func versions(tenant: String, experiment key: String, strategy name: String, after cursor: String? = nil,
                         limit: Int = Page<VersionInfo>.defaultLimit) throws(EngineError) -> Page<VersionInfo> {
        let lineage = try lineage(tenant: tenant, key: key, strategy: name)
        let below = try Page<VersionInfo>.position(cursor)
        try Page<VersionInfo>.check(limit)
        return try read { store in
            let records = try store.versions(strategyID: lineage.id, below: below == 0 ? Int.max : Int(below), limit: limit + 1)
            let page = records.prefix(limit)
            return Page(items: page.map { VersionInfo($0, experiment: key, strategy: name) },
                        next: records.count > limit ? page.last.map { String($0.version) } : nil)
        }
    }

    /// Re-activates an older version of a strategy, at once. The rollback is
    /// itself recorded as a new active version (reason `rollback`, holding the
    /// old version's state) whose watermark is the strategy's current one: the
    /// events learned since the old version are discarded from this strategy's
    /// state, and stay discarded after a restart. The versions after the old
    /// one are marked `rolled_back`.
    /// - Parameter actor: the id of the API key that asks, for the audit trail.
    public func rollback(tenant: String, experiment key: String, strategy name: String, to number: Int,
                         actor: String? = nil) async throws(EngineError) -> VersionInfo {
        let experimentID = try runtime(tenant: tenant, key: key).id
        return try await write { writer in
            // The experiment as the writer has it in memory.
            guard let experiment = try writer.runtime(experimentID: experimentID) else { throw EngineError.unknownExperiment(key) }
            guard let lineage = experiment.shape.lineage(named: name) else {
                throw EngineError.unknownStrategy("experiment '\(key)' has no strategy '\(name)'")
            }
            let armCount = experiment.shape.arms.count
            guard let target = try writer.store.version(strategyID: lineage.id, number: number) else {
                throw EngineError.unknownVersion("strategy '\(name)' of experiment '\(key)' has no version \(number)")
            }
            guard stateChecksum(target.state) == target.checksum else {
                throw EngineError.conflict(.version, "version \(number) of strategy '\(name)' fails its checksum; it cannot be restored")
            }
            let (plugin, config, watermark) = lineage.state.withLock { ($0.plugin, $0.config, $0.appliedThrough) }
            guard let plugin else { throw EngineError.conflict(.strategy, "strategy '\(name)' is not available") }
            let instance: StrategyInstance
            do throws(PluginCallError) {
                instance = try plugin.restoreInstance(config: config, state: target.state)
                if instance.armCount < armCount { try instance.addArms(armCount - instance.armCount) }
            } catch {
                throw EngineError.conflict(.version, "version \(number) of strategy '\(name)' cannot be restored: \(error.message)")
            }
            let state = try instance.serialize()
            let active = lineage.state.withLock { $0.activeVersion }
            let record = try writer.store.transaction {
                try writer.store.markRolledBack(strategyID: lineage.id, after: number)
                let record = try writer.recordVersion(of: lineage, state: state, plugin: plugin, config: config, watermark: watermark,
                                                      reason: .rollback, restoredFrom: number)
                try writer.store.insertAudit(AuditRecord(
                    at: record.createdAt, actor: actor, tenantID: experiment.tenantID, experimentID: experiment.id, subject: key,
                    action: "strategy.rollback",
                    before: AuditSnapshot.object(["strategy": .string(name), "version": .number(Double(active))]),
                    after: AuditSnapshot.object(["strategy": .string(name), "version": .number(Double(record.version)),
                                                 "restored_from": .number(Double(number))])))
                return record
            }
            lineage.state.withLock { $0.install(instance, version: record.version) }
            writer.logger.notice("strategy '\(name)' of experiment '\(key)' rolled back to version \(number) (now version \(record.version))")
            return VersionInfo(record, experiment: key, strategy: name)
        }
    }

    /// The strategy's current state, serialized (the same bytes a save would store).
    public func currentState(tenant: String, experiment key: String, strategy name: String) throws(EngineError) -> [UInt8] {
        let lineage = try lineage(tenant: tenant, key: key, strategy: name)
        return try lineage.state.withLock { state throws(EngineError) -> [UInt8] in
            guard let instance = state.instance else { throw .conflict(.strategy, "strategy '\(name)' is not available") }
            do throws(PluginCallError) { return try instance.serialize() } catch { throw .plugin(error) }
        }
    }
}
