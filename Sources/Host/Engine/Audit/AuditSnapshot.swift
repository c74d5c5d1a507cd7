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

    static func experiment(arms: [String], assignment: Assignment, status: ExperimentStatus, strategies: [Strategy]) -> String {
        JSONValue.object([
            "arms": .array(arms.map(JSONValue.string)),
            "assignment": .string(assignment.rawValue),
            "status": .string(status.rawValue),
            "strategies": .array(strategies.map { strategy in
                .object([
                    "name": .string(strategy.name),
                    "plugin": .string(strategy.plugin),
                    "config": JSONValue(parsing: strategy.config) ?? .string(strategy.config),
                    "weight": .number(strategy.weight),
                    "plugin_version": strategy.pinnedVersion.map(JSONValue.string) ?? .null,
                ])
            }),
        ]).text
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
