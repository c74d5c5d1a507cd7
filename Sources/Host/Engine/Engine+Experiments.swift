internal import PluginHost
public import Storage
internal import Synchronization
internal import Logging

extension Engine {
    // MARK: Tenants

    /// The tenant of that name, created (with `defaultStrategy`) when missing.
    public func ensureTenant(_ name: String, defaultStrategy: String = "thompson") async throws(EngineError) -> TenantRecord {
        if let tenant = registry.tenant(named: name) { return tenant }
        try Validation.name(name, what: "tenant name", field: "tenant")
        let registry = self.registry
        return try await write { writer in
            if let tenant = registry.tenant(named: name) { return tenant }
            let tenant = try writer.store.insertTenant(name: name, defaultStrategy: defaultStrategy, defaultConfig: "{}")
            registry.add(tenant: tenant)
            return tenant
        }
    }

    /// The tenant of that name.
    public func tenant(named name: String) -> TenantRecord? {
        registry.tenant(named: name)
    }

    /// The tenant with that id. A tenant created by another process (`arbiter
    /// keys create`) is read from the database on first use.
    public func tenant(id: Int64) throws(EngineError) -> TenantRecord? {
        if let tenant = registry.tenant(id: id) { return tenant }
        let stored = try read { store in try store.tenants() }
        for tenant in stored where registry.tenant(id: tenant.id) == nil {
            registry.add(tenant: tenant)
        }
        return registry.tenant(id: id)
    }

    /// Every tenant.
    public var tenants: [TenantRecord] { registry.tenants }

    /// Sets the strategy experiments created on first use start with.
    public func setDefaultStrategy(tenant: String, plugin: String, config: String = "{}") async throws(EngineError) {
        guard let record = registry.tenant(named: tenant) else { throw .unknownTenant(tenant) }
        let canonical = try Validation.strategy(StrategySetup(plugin: plugin, config: config), catalog: catalog)
        let registry = self.registry
        try await write { writer in
            try writer.store.updateTenantDefaults(id: record.id, strategy: plugin, config: canonical)
            var updated = record
            updated.defaultStrategy = plugin
            updated.defaultConfig = canonical
            registry.add(tenant: updated)
        }
    }

    // MARK: Experiments

    /// Creates an experiment with its arms and strategies. Each strategy's
    /// configuration is checked by its plugin before anything is written.
    public func createExperiment(tenant: String, _ definition: ExperimentDefinition) async throws(EngineError) -> ExperimentInfo {
        guard let tenantRecord = registry.tenant(named: tenant) else { throw .unknownTenant(tenant) }
        try Validation.name(definition.key, what: "experiment key", field: "key")
        guard !definition.arms.isEmpty else { throw .invalidArms("an experiment needs at least one arm") }
        try Validation.arms(definition.arms, existing: [])
        guard !definition.strategies.isEmpty else { throw .invalidStrategy("an experiment needs at least one strategy") }
        guard definition.strategies.count <= Limits.strategiesPerExperiment else {
            throw .invalidStrategy("an experiment has at most \(Limits.strategiesPerExperiment) strategies")
        }
        var setups: [StrategySetup] = []
        for setup in definition.strategies {
            var canonical = setup
            canonical.config = try Validation.strategy(setup, catalog: catalog)
            guard !setups.contains(where: { $0.name == setup.name }) else {
                throw .invalidStrategy("strategy name '\(setup.name)' is used twice")
            }
            setups.append(canonical)
        }
        guard setups.contains(where: { $0.weight > 0 }) else {
            throw .invalidStrategy("at least one strategy needs a weight above 0")
        }
        let (registry, catalog, strategySetups) = (self.registry, self.catalog, setups)
        return try await write { writer in
            let setups = strategySetups
            guard registry.experiment(tenantID: tenantRecord.id, key: definition.key) == nil else {
                throw EngineError.experimentExists(definition.key)
            }
            var instances: [StrategyInstance] = []
            for setup in setups {
                let plugin = catalog.plugin(named: setup.plugin)!
                do throws(PluginCallError) {
                    instances.append(try plugin.makeInstance(config: setup.config, armCount: definition.arms.count))
                } catch {
                    throw EngineError.invalidStrategy("strategy '\(setup.name)': \(error.message)")
                }
            }
            let now = Store.now()
            let (record, strategies) = try writer.store.transaction { () throws -> (ExperimentRecord, [StrategyRecord]) in
                let record = try writer.store.insertExperiment(tenantID: tenantRecord.id, key: definition.key,
                                                               assignment: definition.assignment, now: now)
                for (index, arm) in definition.arms.enumerated() {
                    try writer.store.insertArm(experimentID: record.id, index: index, name: arm, now: now)
                }
                let strategies = try setups.map { setup in
                    try writer.store.insertStrategy(experimentID: record.id, name: setup.name, plugin: setup.plugin,
                                                    config: setup.config, weight: setup.weight, now: now)
                }
                return (record, strategies)
            }
            var lineages: [Lineage] = []
            for (index, strategy) in strategies.enumerated() {
                let plugin = catalog.plugin(named: strategy.plugin)!
                lineages.append(Lineage(id: strategy.id, experimentID: record.id, name: strategy.name, pluginName: plugin.name,
                                        state: Lineage.State(plugin: plugin, instance: instances[index], config: strategy.config,
                                                             weight: strategy.weight)))
            }
            let runtime = ExperimentRuntime(record: record, tenantName: tenantRecord.name, shape: .init(
                arms: definition.arms, lineages: lineages, assignment: definition.assignment, status: .active, updatedAt: now))
            registry.add(experiment: runtime)
            writer.logger.info("experiment '\(definition.key)' of tenant '\(tenantRecord.name)' created with \(definition.arms.count) arms")
            return runtime.info
        }
    }

    /// Changes an experiment: appends arms, adds or changes strategies (a new
    /// configuration keeps the learned state and is saved as a new version),
    /// changes the assignment or archives it. All or nothing.
    public func updateExperiment(tenant: String, experiment key: String, _ update: ExperimentUpdate) async throws(EngineError) -> ExperimentInfo {
        let experiment = try runtime(tenant: tenant, key: key)
        var setups: [StrategySetup] = []
        for setup in update.strategies {
            var canonical = setup
            canonical.config = try Validation.strategy(setup, catalog: catalog)
            guard !setups.contains(where: { $0.name == setup.name }) else {
                throw .invalidStrategy("strategy name '\(setup.name)' is used twice")
            }
            setups.append(canonical)
        }
        let (registry, catalog, strategySetups) = (self.registry, self.catalog, setups)
        return try await write { writer in
            let setups = strategySetups
            let shape = experiment.shape
            try Validation.arms(update.addArms, existing: shape.arms)
            let armCount = shape.arms.count + update.addArms.count

            // Prepare every change first; nothing is written if one fails.
            var reconfigured: [(Lineage, StrategySetup, StrategyInstance)] = []
            var added: [(StrategySetup, StrategyPlugin, StrategyInstance)] = []
            var reweighted: [(Lineage, StrategySetup)] = []
            for setup in setups {
                if let lineage = shape.lineage(named: setup.name) {
                    guard lineage.pluginName == setup.plugin else {
                        throw EngineError.invalidStrategy("strategy '\(setup.name)' runs plugin '\(lineage.pluginName)'; use a new name for plugin '\(setup.plugin)'")
                    }
                    let current = lineage.state.withLock { ($0.config, $0.plugin) }
                    if current.0 != setup.config, let plugin = current.1 {
                        let state = try lineage.state.withLock { state throws -> [UInt8] in
                            guard let instance = state.instance else { throw EngineError.invalidStrategy("strategy '\(setup.name)' is not available") }
                            return try instance.serialize()
                        }
                        do throws(PluginCallError) {
                            reconfigured.append((lineage, setup, try plugin.restoreInstance(config: setup.config, state: state)))
                        } catch {
                            throw EngineError.invalidStrategy("strategy '\(setup.name)': \(error.message)")
                        }
                    } else {
                        reweighted.append((lineage, setup))
                    }
                } else {
                    let plugin = catalog.plugin(named: setup.plugin)!
                    do throws(PluginCallError) {
                        added.append((setup, plugin, try plugin.makeInstance(config: setup.config, armCount: armCount)))
                    } catch {
                        throw EngineError.invalidStrategy("strategy '\(setup.name)': \(error.message)")
                    }
                }
            }
            guard shape.lineages.count + added.count <= Limits.strategiesPerExperiment else {
                throw EngineError.invalidStrategy("an experiment has at most \(Limits.strategiesPerExperiment) strategies")
            }
            let finalWeights = shape.lineages.map { lineage in
                setups.first { $0.name == lineage.name }?.weight ?? lineage.state.withLock { $0.weight }
            } + added.map(\.0.weight)
            guard finalWeights.contains(where: { $0 > 0 }) else {
                throw EngineError.invalidStrategy("at least one strategy needs a weight above 0")
            }
            for (_, _, instance) in reconfigured where instance.armCount < armCount {
                try instance.addArms(armCount - instance.armCount)
            }

            let now = Store.now()
            var record = ExperimentRecord(id: experiment.id, tenantID: experiment.tenantID, key: key,
                                          assignment: update.assignment ?? shape.assignment,
                                          status: update.status ?? shape.status, createdAt: experiment.createdAt, updatedAt: now)
            let (versions, addedRecords) = try writer.store.transaction { () throws -> ([Int64: ModelVersionRecord], [StrategyRecord]) in
                try writer.store.updateExperiment(record)
                for (offset, arm) in update.addArms.enumerated() {
                    try writer.store.insertArm(experimentID: experiment.id, index: shape.arms.count + offset, name: arm, now: now)
                }
                var versions: [Int64: ModelVersionRecord] = [:]
                for (lineage, setup, instance) in reconfigured {
                    try writer.store.updateStrategy(id: lineage.id, config: setup.config, weight: setup.weight, now: now)
                    let state = try instance.serialize()
                    let plugin = instance.plugin
                    versions[lineage.id] = try writer.store.insertVersion(
                        strategyID: lineage.id, state: state, stateFormatVersion: Int(StateEnvelope(state)?.stateFormatVersion ?? 0),
                        pluginName: plugin.name, pluginVersion: plugin.version.description, config: setup.config,
                        watermark: lineage.state.withLock { $0.appliedThrough }, status: .active, reason: .configuration)
                }
                for (lineage, setup) in reweighted {
                    try writer.store.updateStrategy(id: lineage.id, config: setup.config, weight: setup.weight, now: now)
                }
                let addedRecords = try added.map { setup, _, _ in
                    try writer.store.insertStrategy(experimentID: experiment.id, name: setup.name, plugin: setup.plugin,
                                                    config: setup.config, weight: setup.weight, now: now)
                }
                return (versions, addedRecords)
            }
            record.updatedAt = now

            // Committed: now change what runs.
            for lineage in shape.lineages where !update.addArms.isEmpty {
                lineage.state.withLock { state in
                    guard let instance = state.instance, instance.armCount < armCount else { return }
                    do throws(PluginCallError) { try instance.addArms(armCount - instance.armCount) } catch {
                        state.unavailable = "adding arms failed: \(error.message)"
                    }
                }
            }
            for (lineage, setup, instance) in reconfigured {
                lineage.state.withLock { state in
                    state.instance = instance
                    state.config = setup.config
                    state.weight = setup.weight
                    state.activeVersion = versions[lineage.id]?.version ?? state.activeVersion
                    state.unsavedEvents = 0
                    state.unsavedSince = nil
                }
            }
            for (lineage, setup) in reweighted {
                lineage.state.withLock { $0.weight = setup.weight }
            }
            var newLineages: [Lineage] = []
            for (index, strategy) in addedRecords.enumerated() {
                let (_, plugin, instance) = added[index]
                let lineage = Lineage(id: strategy.id, experimentID: experiment.id, name: strategy.name, pluginName: plugin.name,
                                      state: Lineage.State(plugin: plugin, instance: instance, config: strategy.config, weight: strategy.weight))
                registry.add(lineage: lineage)
                newLineages.append(lineage)
            }
            experiment.replaceShape { shape in
                .init(arms: shape.arms + update.addArms, lineages: shape.lineages + newLineages,
                      assignment: record.assignment, status: record.status, updatedAt: now)
            }
            return experiment.info
        }
    }

    /// One experiment.
    public func experiment(tenant: String, key: String) throws(EngineError) -> ExperimentInfo {
        try runtime(tenant: tenant, key: key).info
    }

    /// The tenant's experiments, oldest first.
    public func experiments(tenant: String) throws(EngineError) -> [ExperimentInfo] {
        guard let tenantRecord = registry.tenant(named: tenant) else { throw .unknownTenant(tenant) }
        return registry.experiments(tenantID: tenantRecord.id).map(\.info)
    }

    /// Every experiment of every tenant.
    public var allExperiments: [ExperimentInfo] {
        registry.experiments(tenantID: nil).map(\.info)
    }

    /// Per-arm figures of an experiment (decisions, feedback, rewards), from the store.
    public func armStatistics(tenant: String, experiment key: String) throws(EngineError) -> [ArmRecord] {
        let experiment = try runtime(tenant: tenant, key: key)
        return try read { store in try store.arms(experimentID: experiment.id) }
    }

    /// The strategy's own JSON summary of its learned state, if it offers one.
    public func inspect(tenant: String, experiment key: String, strategy name: String) throws(EngineError) -> String? {
        let lineage = try lineage(tenant: tenant, key: key, strategy: name)
        return try lineage.state.withLock { state throws(EngineError) -> String? in
            guard let instance = state.instance else { return nil }
            do throws(PluginCallError) { return try instance.inspect() } catch { throw .storage(error.description) }
        }
    }

    func lineage(tenant: String, key: String, strategy name: String) throws(EngineError) -> Lineage {
        let experiment = try runtime(tenant: tenant, key: key)
        guard let lineage = experiment.shape.lineage(named: name) else {
            throw .unknownStrategy("experiment '\(key)' has no strategy '\(name)'")
        }
        return lineage
    }
}
