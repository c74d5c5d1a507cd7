internal import JSON
internal import Logging
public import PluginHost
internal import Storage
internal import Synchronization

/// A new plugin version put in service (or refused) while the server runs.
public struct PluginUpgrade: Sendable {
    public enum Outcome: String, Sendable {
        /// The new version is active; the live strategies run it.
        case upgraded
        /// The new version failed its check; the old one serves untouched.
        case refused
        /// The new version passed its check and is loaded, but not active
        /// (a reload with `activate: false`): strategies pinned to it can run
        /// it beside the active one (a canary); activating it is the upgrade.
        case loaded
    }

    public var plugin: String
    /// The version it replaces ("name version (hash)"), nil for a name new
    /// to this process.
    public var from: String?
    public var to: String
    public var outcome: Outcome
    /// Why it was refused.
    public var reason: String?
    /// Live strategies whose state moved to the new version.
    public var moved: Int = 0
    /// Live strategies that started fresh (their state could not be read).
    public var startedFresh: [String] = []
}

/// What a reload did.
public struct PluginReload: Sendable {
    /// Versions this reload loaded (files whose bytes were not resident).
    public var loaded: [StrategyPlugin] = []
    /// Each name with a new version: upgraded or refused.
    public var upgrades: [PluginUpgrade] = []
    /// Files refused, with the reason.
    public var refused: [PluginRefusal] = []
}

extension Engine {
    /// Scans the plugin directory, loads the libraries whose bytes are new
    /// (from their content-addressed copies) and puts the newest new version
    /// of each name in service after its check (see `upgrade(to:...)`).
    /// Versions loaded before are not activated again: a downgrade is
    /// `activatePlugin`.
    /// - Parameters:
    ///   - startFresh: strategies whose state a new version cannot read
    ///     start fresh instead of the upgrade being refused.
    ///   - actor: the id of the API key that asks, for the records.
    ///   - activate: false to check the new versions and leave them loaded
    ///     but not active, for strategies pinned to them (a canary).
    public func reloadPlugins(startFresh: Bool = false, activate: Bool = true, actor: String? = nil) async throws(EngineError) -> PluginReload {
        guard plugins.directory != nil else {
            throw .conflict(.plugin, "this engine serves a fixed set of plugins (no plugin directory to reload from)")
        }
        try beginPluginChange()
        defer { pluginChangeRunning.store(false, ordering: .releasing) }
        guard let scan = plugins.scan() else {
            throw .conflict(.plugin, "the plugin directory has not been loaded yet")
        }
        var reload = PluginReload(loaded: scan.added, refused: scan.refused)
        logger.notice("plugin reload: \(scan.added.count) new versions loaded, \(scan.refused.count) files refused\(actor.map { " (key \($0))" } ?? "")")
        // The newest new version of each name (the others stay resident).
        var newest: [String: StrategyPlugin] = [:]
        for plugin in scan.added where newest[plugin.name].map({ plugin.version >= $0.version }) ?? true {
            newest[plugin.name] = plugin
        }
        try await audit(subject: "plugins", action: "plugin.reload", actor: actor, before: nil, after: AuditSnapshot.object([
            "loaded": .array(scan.added.map { .string($0.label) }),
            "refused": .array(scan.refused.map { .object(["file": .string($0.path), "reason": .string($0.reason)]) }),
        ]))
        for plugin in newest.values.sorted(by: { $0.name < $1.name }) {
            reload.upgrades.append(try await upgrade(to: plugin, startFresh: startFresh, actor: actor, switching: activate))
        }
        return reload
    }

    /// Puts a resident version of a plugin in service, after the same check
    /// as an upgrade: a downgrade to a version still loaded, or a version a
    /// reload loaded but did not activate.
    /// - Parameter sha256: the build, when several of that version are
    ///   resident (a prefix is enough).
    public func activatePlugin(name: String, version: String, sha256: String? = nil, startFresh: Bool = false,
                               actor: String? = nil) async throws(EngineError) -> PluginUpgrade {
        let resident = plugins.versions(named: name)
        guard !resident.isEmpty else {
            let known = Set(plugins.versions.map(\.name)).sorted().joined(separator: ", ")
            throw .conflict(.plugin, "plugin '\(name)' is not loaded (loaded: \(known.isEmpty ? "none" : known))")
        }
        let matching = resident.filter { plugin in
            plugin.version.description == version && (sha256.map { plugin.sha256.hasPrefix($0) } ?? true)
        }
        guard let target = matching.first else {
            let versions = resident.map(\.label).joined(separator: ", ")
            throw .conflict(sha256 == nil ? .version : .sha256, "no resident version \(version)\(sha256.map { " with hash \($0)…" } ?? "") of '\(name)' (resident: \(versions))")
        }
        guard matching.count == 1 else {
            throw .conflict(.sha256, "\(matching.count) builds of \(name) \(version) are resident (\(matching.map(\.label).joined(separator: ", "))): name one by sha256")
        }
        try beginPluginChange()
        defer { pluginChangeRunning.store(false, ordering: .releasing) }
        if plugins.isActive(target) {
            return PluginUpgrade(plugin: name, from: target.label, to: target.label, outcome: .upgraded)
        }
        let upgrade = try await upgrade(to: target, startFresh: startFresh, actor: actor, action: "plugin.activate")
        if upgrade.outcome == .refused {
            throw .conflict(.version, "\(target.label) was refused: \(upgrade.reason ?? "its check failed")")
        }
        return upgrade
    }

    private func beginPluginChange() throws(EngineError) {
        guard pluginChangeRunning.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            throw .conflict(.plugin, "a plugin reload or activation is under way: retry when it is done")
        }
    }

    /// Checks `new` against every live configuration and state of its name
    /// (`UpgradeCheck`), then, if it passed, switches: `new` becomes active
    /// (new strategies and experiments loaded from now on get it), and each
    /// live strategy's state moves to it under the strategy's lock, so that
    /// every decision is made entirely by one version. The moved state is
    /// saved as a version with reason `upgrade`. The switch runs on the
    /// writer, between feedback batches: events decided by the old version
    /// and learned after the switch are learned once, by the new instance.
    /// - Parameter action: the audit trail's name for it (`plugin.upgrade`,
    ///   `plugin.activate`); a refusal is that with `_refused`.
    /// - Parameter switching: false to stop after the check (the version
    ///   stays loaded, not active).
    func upgrade(to new: StrategyPlugin, startFresh: Bool, actor: String?,
                 action: String = "plugin.upgrade", switching: Bool = true) async throws(EngineError) -> PluginUpgrade {
        let old = plugins.active(named: new.name)
        var result = PluginUpgrade(plugin: new.name, from: old?.label, to: new.label, outcome: .refused)
        func refuse(_ reason: String) async throws(EngineError) -> PluginUpgrade {
            result.reason = reason
            try await audit(subject: new.name, action: action + "_refused", actor: actor, before: old.map(Self.auditSnapshot),
                            after: AuditSnapshot.object(["version": .string(new.version.description), "sha256": .string(new.sha256),
                                                         "file": .string(new.path), "reason": .string(reason)]))
            self.logger.error("plugin upgrade refused: \(new.label) from \(new.path): \(reason); \(old.map { "\($0.label) keeps serving" } ?? "nothing changes")")
            plugins.recordUpgrade(of: new.name, refused: true)
            return result
        }
        // What the new version must accept: every configuration its name
        // runs with, every state in memory, and a stored state of each
        // format among experiments not in memory.
        let live = Self.liveLineages(of: new.name, in: registry)
        var states: [UpgradeCheck.LiveState] = []
        for (lineage, key) in live {
            let snapshot: UpgradeCheck.LiveState? = lineage.state.withLock { state in
                guard let instance = state.instance, let bytes = try? instance.serialize() else { return nil }
                return UpgradeCheck.LiveState(owner: "strategy '\(lineage.name)' of experiment '\(key)'", config: state.config,
                                              state: bytes, armCount: instance.armCount)
            }
            if let snapshot { states.append(snapshot) }
        }
        let inMemory = Set(live.map(\.0.id))
        let (configs, samples) = try read { store in
            (try store.distinctConfigs(plugin: new.name), try store.activeStateSamples(plugin: new.name, excluding: inMemory))
        }
        var outcome = UpgradeCheck.run(new: new, replacing: old, configs: configs + states.map(\.config), states: states)
        if outcome.failure == nil {
            // A stored state's arm count is not known without a plugin: it
            // only has to be readable.
            for sample in samples {
                do throws(PluginCallError) {
                    _ = try new.restoreInstance(config: sample.config, state: sample.state)
                } catch {
                    outcome.unreadable.append(("the stored states of format \(sample.stateFormatVersion)", error.message))
                }
            }
        }
        if let failure = outcome.failure { return try await refuse("its self-check failed: \(failure)") }
        let unreadableStored = outcome.unreadable.filter { $0.owner.hasPrefix("the stored states") }
        if !outcome.unreadable.isEmpty, !startFresh || !unreadableStored.isEmpty {
            let list = outcome.unreadable.prefix(5).map { "\($0.owner): \($0.reason)" }.joined(separator: "; ")
            let more = outcome.unreadable.count > 5 ? " and \(outcome.unreadable.count - 5) more" : ""
            let advice = unreadableStored.isEmpty
                ? "; ask again with start_fresh to start those strategies fresh"
                : "; experiments not in memory cannot start fresh: keep a version that reads their state format"
            return try await refuse("it cannot read the state of \(list)\(more)\(advice)")
        }

        guard switching else {
            result.outcome = .loaded
            try await audit(subject: new.name, action: "plugin.load", actor: actor, before: old.map(Self.auditSnapshot),
                            after: Self.auditSnapshot(new))
            logger.notice("plugin \(new.label) loaded and checked, not active: \(old.map { "\($0.label) stays active" } ?? "")")
            return result
        }

        // The switch.
        plugins.activate(new)
        let unreadable = Set(outcome.unreadable.map(\.owner))
        let (registry, log) = (self.registry, self.logger)
        let moved: (moved: Int, fresh: [String])
        do {
            moved = try await write { writer in
                var count = 0
                var fresh: [String] = []
                // Twice: an experiment loaded from the store while the first
                // pass ran may have got the old version.
                for _ in 0..<2 {
                    for (lineage, key) in Self.liveLineages(of: new.name, in: registry) {
                        let owner = "strategy '\(lineage.name)' of experiment '\(key)'"
                        let from: StrategyPlugin? = try lineage.state.withLock { state in
                            guard let instance = state.instance, let current = state.plugin, current !== new else { return nil }
                            let replacement: StrategyInstance
                            if unreadable.contains(owner) {
                                replacement = try new.makeInstance(config: state.config, armCount: instance.armCount)
                            } else {
                                replacement = try new.restoreInstance(config: state.config, state: try instance.serialize())
                                if replacement.armCount < instance.armCount { try replacement.addArms(instance.armCount - replacement.armCount) }
                            }
                            state.plugin = new
                            state.instance = replacement
                            return current
                        }
                        guard let from else { continue }
                        let started = unreadable.contains(owner)
                        if started { fresh.append(owner) } else { count += 1 }
                        let version = try writer.save(lineage, reason: .upgrade)
                        try writer.store.insertChange(ExperimentChangeRecord(
                            experimentID: lineage.experimentID, at: Store.now(), kind: "upgrade", strategy: lineage.name,
                            detail: "plugin \(from.label) → \(new.label)" + (started ? ", started fresh: its state could not be read" : ", state moved")
                                + (version.map { " (version \($0.version))" } ?? ""),
                            actor: actor))
                        if started { log.warning("\(owner) started fresh on \(new.label): its state could not be read") }
                    }
                }
                return (count, fresh)
            }
        } catch {
            // Whatever moved runs the new version; the rest keep the old one
            // until the next activation.
            logger.error("plugin upgrade to \(new.label) stopped part way: \(error)")
            throw error
        }
        result.outcome = .upgraded
        result.moved = moved.moved
        result.startedFresh = moved.fresh
        var after = Self.auditSnapshot(new)
        if case var .object(members) = JSONValue(parsing: after) {
            members["moved"] = .number(Double(moved.moved))
            members["started_fresh"] = .array(moved.fresh.map(JSONValue.string))
            after = JSONValue.object(members).text
        }
        try await audit(subject: new.name, action: action, actor: actor, before: old.map(Self.auditSnapshot), after: after)
        plugins.recordUpgrade(of: new.name, refused: false)
        logger.notice("plugin \(new.label) active\(old.map { " (was \($0.label))" } ?? ""): \(moved.moved) live strategies moved, \(moved.fresh.count) started fresh\(actor.map { " (key \($0))" } ?? "")")
        return result
    }

    /// A plugin version as the audit trail keeps it.
    static func auditSnapshot(_ plugin: StrategyPlugin) -> String {
        AuditSnapshot.object(["version": .string(plugin.version.description), "sha256": .string(plugin.sha256),
                              "file": .string(plugin.path), "state_format_version": .number(Double(plugin.stateFormatVersion))])
    }

    /// Appends a plugin change (which belongs to no tenant) to the audit trail.
    func audit(subject: String, action: String, actor: String?, before: String?, after: String?) async throws(EngineError) {
        let record = AuditRecord(at: Store.now(), actor: actor, tenantID: nil, experimentID: nil, subject: subject, action: action,
                                 before: before, after: after)
        try await write { writer in try writer.store.insertAudit(record) }
    }

    /// The strategies in memory that run the active version of a plugin of
    /// that name (not pinned to a version), with their experiment's key.
    private static func liveLineages(of name: String, in registry: Registry) -> [(Lineage, String)] {
        registry.lineages.compactMap { lineage in
            guard lineage.pluginName == name, lineage.pinnedVersion == nil,
                  let key = registry.resident(id: lineage.experimentID)?.key else { return nil }
            return (lineage, key)
        }
    }
}

extension Engine {
    /// The active plugins, every resident version with where it is used
    /// (the strategies in memory that run it), and the files refused.
    public func pluginListing() -> PluginListing {
        var usage: [ObjectIdentifier: (count: Int, experiments: [String])] = [:]
        for lineage in registry.lineages {
            guard let plugin = lineage.state.withLock({ $0.plugin }) else { continue }
            var entry = usage[ObjectIdentifier(plugin)] ?? (0, [])
            entry.count += 1
            if entry.experiments.count < 10, let key = registry.resident(id: lineage.experimentID)?.key, !entry.experiments.contains(key) {
                entry.experiments.append(key)
            }
            usage[ObjectIdentifier(plugin)] = entry
        }
        let versions = plugins.versions.map { plugin in
            let use = usage[ObjectIdentifier(plugin)]
            return PluginListing.Version(plugin: plugin, active: plugins.isActive(plugin), strategies: use?.count ?? 0,
                                         experiments: use?.experiments ?? [])
        }
        return PluginListing(catalog, versions: versions)
    }
}
