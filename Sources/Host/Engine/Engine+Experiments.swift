public import JSON
internal import PluginHost
public import Storage
internal import Synchronization
internal import Logging

extension Engine {
    // MARK: Tenants

    /// The tenant of that name, created (with the initial default strategy) when missing.
    public func ensureTenant(_ name: String) async throws(EngineError) -> TenantRecord {
        if let tenant = registry.tenant(named: name) { return tenant }
        try Validation.name(name, what: "tenant name", at: InputPath(.tenant))
        let registry = self.registry
        return try await write { writer in
            if let tenant = registry.tenant(named: name) { return tenant }
            let tenant = try writer.store.insertTenant(name: name, defaultStrategy: TenantRecord.initialDefaultStrategy,
                                                       defaultConfig: "{}")
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
    /// - Parameter actor: the id of the API key that asks, for the audit trail.
    public func setDefaultStrategy(tenant: String, plugin: String, config: String = "{}",
                                   actor: String? = nil) async throws(EngineError) -> TenantRecord {
        guard let record = registry.tenant(named: tenant) else { throw .unknownTenant(tenant) }
        let setup = StrategySetup(plugin: plugin, config: config)
        let canonical = try Validation.strategy(setup, plugins: plugins, index: 0)
        // The plugin must accept the configuration, or every experiment created on first use would fail.
        _ = try Validation.makeInstance(StrategySetup(plugin: plugin, config: canonical), index: 0, armCount: 1, plugins: plugins)
        let registry = self.registry
        return try await write { writer in
            try writer.store.transaction {
                try writer.store.updateTenantDefaults(id: record.id, strategy: plugin, config: canonical)
                func snapshot(_ strategy: String, _ config: String) -> String {
                    AuditSnapshot.object(["strategy": .string(strategy), "config": JSONValue(parsing: config) ?? .string(config)])
                }
                try writer.store.insertAudit(AuditRecord(
                    at: Store.now(), actor: actor, tenantID: record.id, experimentID: nil, subject: tenant, action: "tenant.default_strategy",
                    before: snapshot(record.defaultStrategy, record.defaultConfig), after: snapshot(plugin, canonical)))
            }
            var updated = record
            updated.defaultStrategy = plugin
            updated.defaultConfig = canonical
            registry.add(tenant: updated)
            return updated
        }
    }

    // MARK: Experiments

    /// Creates an experiment with its arms and strategies. Each strategy's
    /// configuration is checked by its plugin before anything is written;
    /// the answer comes once the experiment's rows are written.
    /// - Throws: the error of that write when it failed: the experiment is
    ///   then in service, and written when the store allows (a retry is
    ///   answered `experimentExists`).
    public func createExperiment(tenant: String, _ definition: ExperimentDefinition,
                                 actor: String? = nil) async throws(EngineError) -> ExperimentInfo {
        guard let tenantRecord = registry.tenant(named: tenant) else { throw .unknownTenant(tenant) }
        guard registry.experimentID(tenantID: tenantRecord.id, key: definition.key) == nil else {
            throw .experimentExists(definition.key)
        }
        let runtime = try newExperiment(tenant: tenantRecord, definition, actor: actor)
        try await flush()
        return runtime.info
    }

    /// Creates an experiment in memory and puts it in service at once; its
    /// rows are written with the next batch of decisions (a crash before
    /// that loses it, as it loses the decisions not yet written).
    /// - Throws: `experimentExists` when the tenant has one of that key.
    /// - Parameter namesChecked: the key and the arms were checked by the
    ///   caller already (creation on first use checks them before it looks).
    /// - Parameter actor: the id of the API key that creates it, for the audit trail.
    func newExperiment(tenant tenantRecord: TenantRecord, _ definition: ExperimentDefinition,
                       namesChecked: Bool = false, actor: String? = nil) throws(EngineError) -> ExperimentRuntime {
        if !namesChecked {
            try Validation.name(definition.key, what: "experiment key", at: InputPath(.key))
            try Validation.arms(definition.arms, existing: [], at: InputPath(.arms))
        }
        guard !definition.strategies.isEmpty else { throw .invalid(.strategies, "an experiment needs at least one strategy") }
        let setups = try Validation.setups(definition.strategies, plugins: plugins)
        guard setups.contains(where: { $0.weight > 0 }) else {
            throw .invalid(.strategies, "at least one strategy needs a weight above 0")
        }
        var lineages: [Lineage] = []
        let id = experimentIdentifiers.nextExperiment()
        for (index, setup) in setups.enumerated() {
            let instance = try Validation.makeInstance(setup, index: index, armCount: definition.arms.count, plugins: plugins)
            lineages.append(Lineage(id: experimentIdentifiers.nextStrategy(), experimentID: id, name: setup.name, pluginName: setup.plugin,
                                    pinnedVersion: setup.pluginVersion, state: Lineage.State(plugin: instance.plugin, instance: instance, config: setup.config, weight: setup.weight)))
        }
        let now = Store.now()
        let record = ExperimentRecord(id: id, tenantID: tenantRecord.id, key: definition.key, arms: definition.arms,
                                      assignment: definition.assignment, status: .active, createdAt: now, updatedAt: now)
        let runtime = ExperimentRuntime(record: record, tenantName: tenantRecord.name, shape: .init(
            arms: definition.arms, lineages: lineages, assignment: definition.assignment, status: .active, updatedAt: now), stored: false,
            createdBy: actor)
        guard registry.installNew(runtime) else { throw .experimentExists(definition.key) }
        try pipeline.log(creation: runtime)
        logger.debug("experiment '\(definition.key)' of tenant '\(tenantRecord.name)' created with \(definition.arms.count) arms")
        return runtime
    }

    /// Changes an experiment: appends arms, adds or changes strategies (a new
    /// configuration keeps the learned state and is saved as a new version),
    /// changes the assignment or archives it. All or nothing.
    /// - Parameter actor: the id of the API key that asks (recorded with the
    ///   changes on the report's timeline); nil for the host's own.
    public func updateExperiment(tenant: String, experiment key: String, _ update: ExperimentUpdate,
                                 actor: String? = nil) async throws(EngineError) -> ExperimentInfo {
        let loaded = try runtime(tenant: tenant, key: key)
        let setups = try Validation.setups(update.strategies, plugins: plugins)
        try Validation.arms(update.addArms, existing: loaded.shape.arms, at: InputPath(.arms))
        let (registry, plugins, id, identifiers) = (self.registry, self.plugins, loaded.id, experimentIdentifiers)
        return try await write { writer in
            // The experiment as the writer has it in memory (it may have left
            // memory and come back since the caller looked it up).
            guard let experiment = try writer.runtime(experimentID: id) else { throw EngineError.unknownExperiment(key) }
            let shape = experiment.shape
            try Validation.arms(update.addArms, existing: shape.arms, at: InputPath(.arms))
            let armCount = shape.arms.count + update.addArms.count

            // Prepare every change first; nothing is written if one fails.
            var reconfigured: [(Lineage, StrategySetup, StrategyInstance)] = []
            var added: [(StrategySetup, StrategyInstance)] = []
            var reweighted: [(Lineage, StrategySetup)] = []
            for (index, setup) in setups.enumerated() {
                guard let lineage = shape.lineage(named: setup.name) else {
                    added.append((setup, try Validation.makeInstance(setup, index: index, armCount: armCount, plugins: plugins)))
                    continue
                }
                guard lineage.pluginName == setup.plugin else {
                    throw EngineError.conflict(at: InputPath(.strategies, index, .plugin),
                                               "strategy '\(setup.name)' runs plugin '\(lineage.pluginName)'; use a new name for plugin '\(setup.plugin)'")
                }
                guard setup.pluginVersion == nil || setup.pluginVersion == lineage.pinnedVersion else {
                    throw EngineError.conflict(at: InputPath(.strategies, index, .pluginVersion),
                                               "strategy '\(setup.name)' is \(lineage.pinnedVersion.map { "pinned to version \($0)" } ?? "not pinned"); a strategy's pin cannot change: add a new strategy pinned to \(setup.pluginVersion ?? "")")
                }
                let (config, plugin) = lineage.state.withLock { ($0.config, $0.plugin) }
                guard config != setup.config, let plugin else {
                    reweighted.append((lineage, setup))
                    continue
                }
                let state = try lineage.state.withLock { state throws -> [UInt8] in
                    guard let instance = state.instance else {
                        throw EngineError.conflict(at: InputPath(.strategies, index), "strategy '\(setup.name)' is not available")
                    }
                    return try instance.serialize()
                }
                do throws(PluginCallError) {
                    let instance = try plugin.restoreInstance(config: setup.config, state: state)
                    if instance.armCount < armCount { try instance.addArms(armCount - instance.armCount) }
                    reconfigured.append((lineage, setup, instance))
                } catch {
                    throw Validation.refusal(error, setup: setup, index: index)
                }
            }
            guard shape.lineages.count + added.count <= Engine.Limits.strategiesPerExperiment else {
                throw EngineError.conflict(.strategies, "an experiment has at most \(Engine.Limits.strategiesPerExperiment) strategies")
            }
            let finalWeights = shape.lineages.map { lineage in
                setups.first { $0.name == lineage.name }?.weight ?? lineage.state.withLock { $0.weight }
            } + added.map(\.0.weight)
            guard finalWeights.contains(where: { $0 > 0 }) else {
                throw EngineError.conflict(.strategies, "at least one strategy needs a weight above 0")
            }

            let now = Store.now()
            let record = ExperimentRecord(id: experiment.id, tenantID: experiment.tenantID, key: key, arms: shape.arms + update.addArms,
                                          assignment: update.assignment ?? shape.assignment,
                                          status: update.status ?? shape.status, createdAt: experiment.createdAt, updatedAt: now)
            // The audit trail's before and after.
            let before = AuditSnapshot.experiment(experiment)
            let after = AuditSnapshot.experiment(
                arms: record.arms, assignment: record.assignment, status: record.status,
                strategies: shape.lineages.map { lineage in
                    if let setup = setups.first(where: { $0.name == lineage.name }) {
                        return AuditSnapshot.Strategy(name: lineage.name, plugin: lineage.pluginName, config: setup.config, weight: setup.weight,
                                                      pinnedVersion: lineage.pinnedVersion)
                    }
                    let (config, weight) = lineage.state.withLock { ($0.config, $0.weight) }
                    return AuditSnapshot.Strategy(name: lineage.name, plugin: lineage.pluginName, config: config, weight: weight,
                                                  pinnedVersion: lineage.pinnedVersion)
                } + added.map { setup, _ in
                    AuditSnapshot.Strategy(name: setup.name, plugin: setup.plugin, config: setup.config, weight: setup.weight,
                                           pinnedVersion: setup.pluginVersion)
                })
            let action = update.status == .archived && shape.status != .archived ? "experiment.archive" : "experiment.update"
            let (versions, addedRecords) = try writer.store.transaction { () throws -> ([Int64: ModelVersionRecord], [StrategyRecord]) in
                try writer.store.updateExperiment(record)
                try writer.store.insertAudit(AuditRecord(at: now, actor: actor, tenantID: experiment.tenantID, experimentID: experiment.id,
                                                         subject: key, action: action, before: before, after: after))
                var versions: [Int64: ModelVersionRecord] = [:]
                for (lineage, setup, instance) in reconfigured {
                    try writer.store.updateStrategy(id: lineage.id, config: setup.config, weight: setup.weight, now: now)
                    versions[lineage.id] = try writer.recordVersion(
                        of: lineage, state: try instance.serialize(), plugin: instance.plugin, config: setup.config,
                        watermark: lineage.state.withLock { $0.appliedThrough }, reason: .configuration)
                }
                for (lineage, setup) in reweighted {
                    try writer.store.updateStrategy(id: lineage.id, config: setup.config, weight: setup.weight, now: now)
                }
                // The report's timeline: what no version records.
                func change(_ kind: String, _ strategy: String? = nil, _ detail: String) throws {
                    try writer.store.insertChange(ExperimentChangeRecord(experimentID: experiment.id, at: now, kind: kind,
                                                                         strategy: strategy, detail: detail, actor: actor))
                }
                for (lineage, setup) in reweighted.map({ ($0.0, $0.1) }) + reconfigured.map({ ($0.0, $0.1) }) {
                    let old = lineage.state.withLock { $0.weight }
                    if old != setup.weight { try change("weight", lineage.name, "weight \(old) → \(setup.weight)") }
                }
                if !update.addArms.isEmpty { try change("arms_added", nil, update.addArms.joined(separator: ", ")) }
                if record.assignment != shape.assignment {
                    try change("assignment", nil, "\(shape.assignment.rawValue) → \(record.assignment.rawValue)")
                }
                if record.status != shape.status { try change("status", nil, "\(shape.status.rawValue) → \(record.status.rawValue)") }
                let addedRecords = try added.map { setup, _ in
                    let strategy = StrategyRecord(id: identifiers.nextStrategy(), experimentID: experiment.id, name: setup.name,
                                                  plugin: setup.plugin, config: setup.config, weight: setup.weight, createdAt: now, updatedAt: now,
                                                  pluginVersion: setup.pluginVersion)
                    try writer.store.insertStrategy(strategy)
                    return strategy
                }
                return (versions, addedRecords)
            }

            // Committed: now change what runs.
            if !update.addArms.isEmpty {
                for lineage in shape.lineages {
                    lineage.state.withLock { state in
                        guard let instance = state.instance, instance.armCount < armCount else { return }
                        do throws(PluginCallError) { try instance.addArms(armCount - instance.armCount) } catch {
                            state.unavailable = "adding arms failed: \(error.message)"
                        }
                    }
                }
            }
            for (lineage, setup, instance) in reconfigured {
                lineage.state.withLock { state in
                    state.install(instance, version: versions[lineage.id]?.version ?? state.activeVersion)
                    state.config = setup.config
                    state.weight = setup.weight
                }
            }
            for (lineage, setup) in reweighted {
                lineage.state.withLock { $0.weight = setup.weight }
            }
            let newLineages = zip(addedRecords, added).map { strategy, addition in
                Lineage(strategy, state: Lineage.State(plugin: addition.1.plugin, instance: addition.1,
                                                       config: strategy.config, weight: strategy.weight))
            }
            for lineage in newLineages { registry.add(lineage: lineage) }
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

    /// A page of the tenant's experiments, oldest first: at most `limit`
    /// (1 to 1,000) after the experiment `cursor` names, and the cursor of the
    /// next page (nil on the last). Experiments not in memory are described
    /// from the store, without loading them.
    public func experiments(tenant: String, after cursor: String? = nil, limit: Int = Page<ExperimentInfo>.defaultLimit,
                            containing search: String? = nil) throws(EngineError) -> Page<ExperimentInfo> {
        guard let tenantRecord = registry.tenant(named: tenant) else { throw .unknownTenant(tenant) }
        let after = try Page<ExperimentInfo>.position(cursor)
        try Page<ExperimentInfo>.check(limit)
        let (registry, plugins) = (self.registry, self.plugins)
        return try read { store in
            let records = try store.experiments(tenantID: tenantRecord.id, afterID: after, limit: limit + 1,
                                                containing: search.flatMap { $0.isEmpty ? nil : $0 })
            let page = records.prefix(limit)
            let items = try page.map { record -> ExperimentInfo in
                if let runtime = registry.resident(id: record.id) { return runtime.info }
                return try ExperimentInfo(record, tenantName: tenantRecord.name, strategies: store.strategies(experimentID: record.id),
                                          activeVersion: { try store.activeVersionNumber(strategyID: $0) }, plugins: plugins)
            }
            return Page(items: items, next: records.count > limit ? page.last.map { String($0.id) } : nil)
        }
    }

    /// Per-arm figures of an experiment (decisions, feedback, rewards), from the store.
    public func armStatistics(tenant: String, experiment key: String) throws(EngineError) -> [ArmRecord] {
        let experiment = try runtime(tenant: tenant, key: key)
        return try read { store in try store.arms(experimentID: experiment.id) }
    }

    /// The strategy's own JSON summary of its learned state, if it offers one.
    public func inspect(tenant: String, experiment key: String, strategy name: String) throws(EngineError) -> JSONValue? {
        try lineage(tenant: tenant, key: key, strategy: name).summary()
    }
}
