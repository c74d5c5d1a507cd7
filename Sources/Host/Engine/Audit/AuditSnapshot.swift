internal import JSON
internal import Storage
internal import Synchronization

/// The JSON the audit trail keeps of what changed: an experiment's
/// definition (arms, assignment, status, strategies with plugin, pinned
/// version, configuration and weight), a tenant's default strategy, a
/// plugin version.
enum AuditSnapshot {
    /// One strategy as the trail shows it.
    struct Strategy {
        var name: String
        var plugin: String
        var config: String
        var weight: Double
        var pinnedVersion: String? = nil
    }

    /// Written with the JSON writer directly: every experiment created on
    /// first use writes one (a tree of `JSONValue`s cost a twentieth of a
    /// creation). A strategy's config is its canonical JSON text already.
    static func experiment(arms: [String], assignment: Assignment, status: ExperimentStatus, strategies: [Strategy]) -> String {
        var writer = JSONWriter(capacity: 128 + 16 * arms.count + 96 * strategies.count)
        writer.object { w in
            w.key("arms"); w.array(arms) { w, arm in w.string(arm) }
            w.key("assignment"); w.string(assignment.rawValue)
            w.key("status"); w.string(status.rawValue)
            w.key("strategies")
            w.array(strategies) { w, strategy in
                w.object { w in
                    w.key("name"); w.string(strategy.name)
                    w.key("plugin"); w.string(strategy.plugin)
                    w.key("plugin_version"); w.string(strategy.pinnedVersion)
                    w.key("config"); w.raw(strategy.config.isEmpty ? "{}" : strategy.config)
                    w.key("weight"); w.number(strategy.weight)
                }
            }
        }
        return writer.text
    }

    /// An experiment in memory, as it is now.
    static func experiment(_ runtime: ExperimentRuntime) -> String {
        let shape = runtime.shape
        return experiment(arms: shape.arms, assignment: shape.assignment, status: shape.status, strategies: shape.lineages.map { lineage in
            let (config, weight) = lineage.state.withLock { ($0.config, $0.weight) }
            return Strategy(name: lineage.name, plugin: lineage.pluginName, config: config, weight: weight, pinnedVersion: lineage.pinnedVersion)
        })
    }

    static func object(_ members: [String: JSONValue]) -> String {
        JSONValue.object(members).text
    }
}
