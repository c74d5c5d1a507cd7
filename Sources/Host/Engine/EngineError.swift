/// Why the engine refused a request. Nothing was written when one is thrown.
public enum EngineError: Error, Sendable, Equatable, CustomStringConvertible {
    /// No tenant of that name.
    case unknownTenant(String)
    /// No experiment with that key for the tenant.
    case unknownExperiment(String)
    /// An experiment with that key exists already.
    case experimentExists(String)
    /// The experiment is archived and takes no decisions.
    case experimentArchived(String)
    /// An arm name that is not in the experiment.
    case unknownArm(String)
    /// An invalid list of arms (empty, repeated, too long, a bad name).
    case invalidArms(String)
    /// No strategy of that name in the experiment.
    case unknownStrategy(String)
    /// An invalid strategy set-up: unknown plugin, bad parameters or weights.
    case invalidStrategy(String)
    /// No such model version.
    case unknownVersion(String)
    /// Any other invalid argument; `field` names it (e.g. "context").
    case invalidRequest(String, field: String)
    /// The queues are full: retry later.
    case overloaded(String)
    /// The engine is shutting down.
    case shuttingDown
    /// The database failed; the message is SQLite's.
    case storage(String)

    public var description: String {
        switch self {
        case let .unknownTenant(name): "unknown tenant '\(name)'"
        case let .unknownExperiment(key): "unknown experiment '\(key)'"
        case let .experimentExists(key): "experiment '\(key)' already exists"
        case let .experimentArchived(key): "experiment '\(key)' is archived"
        case let .unknownArm(message), let .invalidArms(message), let .unknownStrategy(message),
             let .invalidStrategy(message), let .unknownVersion(message), let .invalidRequest(message, _),
             let .overloaded(message), let .storage(message):
            message
        case .shuttingDown: "the server is shutting down"
        }
    }
}
