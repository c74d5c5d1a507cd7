public import JSON
public import PluginHost

/// One strategy in a simulation: a label, the plugin that runs it and its
/// parameters. Several specs may use one plugin with different parameters.
public struct StrategySpec: Sendable, Equatable {
    /// The name results are reported under.
    public var label: String
    /// The plugin's strategy name.
    public var plugin: String
    /// Parameters passed to the plugin's create.
    public var parameters: [String: JSONValue]

    public init(label: String, plugin: String, parameters: [String: JSONValue] = [:]) {
        self.label = label
        self.plugin = plugin
        self.parameters = parameters
    }

    /// Names that stand for a plugin with preset parameters.
    public static let aliases: [String: StrategySpec] = [
        "ucb1": StrategySpec(label: "ucb1", plugin: "ucb", parameters: ["variant": .string("ucb1")]),
        "ucb1-tuned": StrategySpec(label: "ucb1-tuned", plugin: "ucb", parameters: ["variant": .string("ucb1-tuned")]),
        "kl-ucb": StrategySpec(label: "kl-ucb", plugin: "ucb", parameters: ["variant": .string("kl-ucb")]),
    ]

    /// Parses a strategy list and parameter assignments.
    /// - Parameters:
    ///   - list: comma-separated entries, each `NAME` (a plugin or an alias
    ///     such as `ucb1`) or `LABEL=NAME` to run one plugin under several labels.
    ///   - assignments: `LABEL.PARAMETER=VALUE`; VALUE is read as JSON when it
    ///     parses (numbers, true, "text"), as a string otherwise.
    public static func parse(list: String, assignments: [String]) throws(InvalidRequest) -> [StrategySpec] {
        var specs: [StrategySpec] = []
        for entry in list.split(separator: ",").map({ $0.trimmingWhitespace() }) where !entry.isEmpty {
            let parts = entry.split(separator: "=", maxSplits: 1).map(String.init)
            let label = parts[0]
            let name = parts.count == 2 ? parts[1] : parts[0]
            guard !label.isEmpty, !name.isEmpty else { throw InvalidRequest("strategy entry '\(entry)' is empty on one side of '='") }
            guard !specs.contains(where: { $0.label == label }) else { throw InvalidRequest("strategy label '\(label)' is used twice") }
            var spec = aliases[name] ?? StrategySpec(label: label, plugin: name)
            spec.label = label
            specs.append(spec)
        }
        guard !specs.isEmpty else { throw InvalidRequest("no strategies given") }
        for assignment in assignments {
            let sides = assignment.split(separator: "=", maxSplits: 1).map(String.init)
            let path = sides[0].split(separator: ".", maxSplits: 1).map(String.init)
            guard sides.count == 2, path.count == 2 else {
                throw InvalidRequest("parameter '\(assignment)' must look like LABEL.PARAMETER=VALUE")
            }
            guard let index = specs.firstIndex(where: { $0.label == path[0] }) else {
                throw InvalidRequest("parameter '\(assignment)' names strategy '\(path[0])', which is not in the list")
            }
            specs[index].parameters[path[1]] = JSONValue(parsing: sides[1]) ?? .string(sides[1])
        }
        return specs
    }

    /// The parameters as the JSON object handed to the plugin.
    public var configJSON: String { JSONValue.object(parameters).text }
}

extension Substring {
    func trimmingWhitespace() -> String {
        String(drop { $0.isWhitespace }.reversed().drop { $0.isWhitespace }.reversed())
    }
}
