public import PluginHost

/// Why the engine refused a request. Nothing was written when one is thrown.
public enum EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No tenant of that name.
    case unknownTenant(String)
    /// No experiment with that key for the tenant.
    case unknownExperiment(String)
    /// No strategy of that name in the experiment.
    case unknownStrategy(String)
    /// No such model version.
    case unknownVersion(String)
    /// An experiment with that key exists already.
    case experimentExists(String)
    /// The experiment is archived and takes no decisions.
    case experimentArchived(String)
    /// An input of the request is invalid on its own; `at` says which one.
    case invalid(at: InputPath, String)
    /// A well-formed input that the current state refuses (an arm the
    /// experiment does not have, a plugin that is not loaded or refuses the
    /// configuration, a limit the experiment would exceed); `at` says which one.
    case conflict(at: InputPath, String)
    /// The queues are full: retry later.
    case overloaded(String)
    /// The disk (or the database's size limit) is full: writes are refused
    /// until space returns; nothing acknowledged is lost.
    case diskFull(String)
    /// The engine is shutting down.
    case shuttingDown
    /// The database failed; the message is SQLite's.
    case storage(String)
    /// A strategy plugin failed an operation that was not about the request's input.
    case plugin(PluginCallError)

    /// An invalid input at a top-level member.
    static func invalid(_ input: Input, _ message: String) -> EngineError {
        .invalid(at: InputPath(input), message)
    }

    /// A refused input at a top-level member.
    static func conflict(_ input: Input, _ message: String) -> EngineError {
        .conflict(at: InputPath(input), message)
    }

    public var description: String {
        switch self {
        case let .unknownTenant(name): "unknown tenant '\(name)'"
        case let .unknownExperiment(key): "unknown experiment '\(key)'"
        case let .experimentExists(key): "experiment '\(key)' already exists"
        case let .experimentArchived(key): "experiment '\(key)' is archived"
        case let .unknownStrategy(message), let .unknownVersion(message), let .invalid(_, message), let .conflict(_, message),
             let .overloaded(message), let .diskFull(message), let .storage(message):
            message
        case .shuttingDown: "the server is shutting down"
        case let .plugin(error): "strategy plugin failed: \(error)"
        }
    }

    /// The same error with its input path placed under `prefix` (an error
    /// about one decision of a batch is about `requests[i]`).
    func nested(under prefix: InputPath) -> EngineError {
        switch self {
        case let .invalid(path, message): .invalid(at: prefix + path, message)
        case let .conflict(path, message): .conflict(at: prefix + path, message)
        default: self
        }
    }
}

/// The inputs of the engine's operations, by the names the `/v1` API gives
/// them in JSON. Routes that name an input differently (the seed's
/// `task_type` for an experiment key) map these names; they never guess.
public enum Input: String, Sendable, Equatable {
    case tenant
    case key
    case arms
    case eligibleArms = "eligible_arms"
    case context
    case unitID = "unit_id"
    case requests
    case strategies
    /// A strategy named in the path (`/strategies/{strategy}/...`).
    case strategy
    case name
    case plugin
    case config
    case weight
    case assignment
    case status
    case version
    case events
    case eventID = "event_id"
    case decisionID = "decision_id"
    case reward
    case limit
    case cursor
    case candidates
    case label
    case since
    case until
    case missingReward = "missing_reward"
    case control
    case sha256
    case startFresh = "start_fresh"
    case pluginVersion = "plugin_version"
    case activate
}

/// Where an invalid input is in a request: members and indices from the
/// top, e.g. `strategies[2].config` or `requests[0].eligible_arms`.
public struct InputPath: Sendable, Equatable, CustomStringConvertible {
    public enum Component: Sendable, Equatable {
        case member(Input)
        case index(Int)
    }

    public var components: [Component]

    public init(_ components: [Component]) {
        self.components = components
    }

    public init(_ input: Input) {
        components = [.member(input)]
    }

    /// `input[index]`, e.g. `strategies[2]`.
    public init(_ input: Input, _ index: Int) {
        components = [.member(input), .index(index)]
    }

    /// `input[index].member`, e.g. `strategies[2].config`.
    public init(_ input: Input, _ index: Int, _ member: Input) {
        components = [.member(input), .index(index), .member(member)]
    }

    public static func + (lhs: InputPath, rhs: InputPath) -> InputPath {
        InputPath(lhs.components + rhs.components)
    }

    /// The top-level input.
    public var root: Input? {
        if case let .member(input)? = components.first { return input }
        return nil
    }

    /// The path written with `name` for each member, e.g. `strategies[2].config`.
    public func rendered(_ name: (Input) -> String = \.rawValue) -> String {
        var text = ""
        for component in components {
            switch component {
            case let .member(input): text += (text.isEmpty ? "" : ".") + name(input)
            case let .index(index): text += "[\(index)]"
            }
        }
        return text
    }

    public var description: String { rendered() }
}
