/// A tenant: every experiment belongs to one.
public struct TenantRecord: Sendable, Equatable {
    /// The default strategy of a new tenant (until it chooses another).
    public static let initialDefaultStrategy = "thompson"

    public var id: Int64
    public var name: String
    /// Strategy (plugin) of experiments created on first use.
    public var defaultStrategy: String
    /// Its configuration, a JSON object.
    public var defaultConfig: String
    public var createdAt: Int64
}

/// How traffic is divided among an experiment's strategies.
public enum Assignment: String, Sendable, CaseIterable, Codable {
    /// Each decision draws its strategy from the weights.
    case random
    /// A unit id always gets the same strategy (while the weights stay).
    case sticky
}

/// Whether an experiment takes decisions.
public enum ExperimentStatus: String, Sendable, Codable {
    case active
    case archived
}

/// One decision point of a tenant, e.g. "route task type summarize".
public struct ExperimentRecord: Sendable, Equatable {
    public var id: Int64
    public var tenantID: Int64
    public var key: String
    /// Arm names, in index order.
    public var arms: [String]
    public var assignment: Assignment
    public var status: ExperimentStatus
    public var createdAt: Int64
    public var updatedAt: Int64

    public init(id: Int64, tenantID: Int64, key: String, arms: [String], assignment: Assignment, status: ExperimentStatus,
                createdAt: Int64, updatedAt: Int64) {
        self.id = id
        self.tenantID = tenantID
        self.key = key
        self.arms = arms
        self.assignment = assignment
        self.status = status
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// What is known of one arm across all strategies of its experiment.
public struct ArmStats: Sendable, Equatable {
    public var decisions: Int = 0
    public var feedbackCount: Int = 0
    public var feedbackWeight: Double = 0
    public var rewardSum: Double = 0
    public var rewardSquares: Double = 0
    public var lastDecisionAt: Int64?
    public var lastFeedbackAt: Int64?

    public init() {}

    /// Counts one piece of feedback.
    public mutating func add(reward: Double, weight: Double, at time: Int64) {
        feedbackCount += 1
        feedbackWeight += weight
        rewardSum += weight * reward
        rewardSquares += weight * reward * reward
        lastFeedbackAt = max(lastFeedbackAt ?? time, time)
    }
}

/// An arm (an agent, a variant) of an experiment, with its figures.
public struct ArmRecord: Sendable, Equatable {
    public var experimentID: Int64
    public var index: Int
    public var name: String
    public var stats: ArmStats
}

/// One strategy of an experiment: a named use of a plugin with its
/// configuration and traffic weight. Its id names the state lineage.
public struct StrategyRecord: Sendable, Equatable {
    public var id: Int64
    public var experimentID: Int64
    /// Name within the experiment (defaults to the plugin's name).
    public var name: String
    public var plugin: String
    public var config: String
    /// Share of traffic, relative to the other strategies' weights; 0 takes none.
    public var weight: Double
    /// The last learning event committed for this lineage.
    public var lastEventID: Int64
    /// The watermark of its active version (0 before the first save): the
    /// events after it are replayed at a restart.
    public var savedThrough: Int64
    public var createdAt: Int64
    public var updatedAt: Int64
    /// The plugin version it is pinned to (a canary); nil to run the active one.
    public var pluginVersion: String?

    public init(id: Int64, experimentID: Int64, name: String, plugin: String, config: String, weight: Double,
                lastEventID: Int64 = 0, savedThrough: Int64 = 0, createdAt: Int64, updatedAt: Int64, pluginVersion: String? = nil) {
        self.pluginVersion = pluginVersion
        self.id = id
        self.experimentID = experimentID
        self.name = name
        self.plugin = plugin
        self.config = config
        self.weight = weight
        self.lastEventID = lastEventID
        self.savedThrough = savedThrough
        self.createdAt = createdAt
        self.updatedAt = updatedAt
    }
}

/// One logged decision.
public struct DecisionRecord: Sendable, Equatable {
    public var id: UInt64
    public var experimentID: Int64
    public var strategyID: Int64
    /// The active model version of the strategy when deciding.
    public var modelVersion: Int
    /// The last learning event applied to the state that decided.
    public var appliedThrough: Int64
    public var arm: Int
    public var propensity: Double
    /// Probability that this strategy was the one to decide.
    public var trafficShare: Double
    public var seed: UInt64
    public var eligible: [UInt32]
    public var context: [Double]?
    public var unitID: String?
    /// Set when the host replaced a faulty plugin decision.
    public var fallback: String?
    public var createdAt: Int64

    public init(id: UInt64, experimentID: Int64, strategyID: Int64, modelVersion: Int, appliedThrough: Int64, arm: Int,
                propensity: Double, trafficShare: Double, seed: UInt64, eligible: [UInt32], context: [Double]?,
                unitID: String?, fallback: String?, createdAt: Int64) {
        self.id = id
        self.experimentID = experimentID
        self.strategyID = strategyID
        self.modelVersion = modelVersion
        self.appliedThrough = appliedThrough
        self.arm = arm
        self.propensity = propensity
        self.trafficShare = trafficShare
        self.seed = seed
        self.eligible = eligible
        self.context = context
        self.unitID = unitID
        self.fallback = fallback
        self.createdAt = createdAt
    }
}

/// One stored learning event.
public struct EventRecord: Sendable, Equatable {
    public var id: Int64
    public var tenantID: Int64
    public var eventID: String
    public var decisionID: UInt64
    public var strategyID: Int64
    public var arm: Int
    public var reward: Double
    public var weight: Double
    public var createdAt: Int64

    public init(id: Int64, tenantID: Int64, eventID: String, decisionID: UInt64, strategyID: Int64, arm: Int,
                reward: Double, weight: Double, createdAt: Int64) {
        self.id = id
        self.tenantID = tenantID
        self.eventID = eventID
        self.decisionID = decisionID
        self.strategyID = strategyID
        self.arm = arm
        self.reward = reward
        self.weight = weight
        self.createdAt = createdAt
    }
}

/// The status of a model version.
public enum VersionStatus: String, Sendable, Codable {
    /// Written but not in service (e.g. a state migrated for an upgrade).
    case candidate
    /// The state the lineage restores from.
    case active
    /// Superseded by a newer version.
    case archived
    /// Discarded by a rollback to an older version.
    case rolledBack = "rolled_back"
}

/// Why a version was written.
public enum VersionReason: String, Sendable, Codable {
    case periodic
    case onDemand = "on_demand"
    case shutdown
    case configuration
    case rollback
    /// Saved so that the strategy's experiment could leave memory.
    case eviction
    /// The state as a new plugin version holds it, right after the switch
    /// (moved from the old version, or fresh when it could not be read).
    case upgrade
}

/// One saved state of one strategy lineage.
public struct ModelVersionRecord: Sendable, Equatable {
    public var id: Int64
    public var strategyID: Int64
    public var version: Int
    public var state: [UInt8]
    public var stateFormatVersion: Int
    public var pluginName: String
    public var pluginVersion: String
    public var config: String
    /// The last learning event accounted for in `state`.
    public var watermark: Int64
    public var checksum: String
    public var status: VersionStatus
    public var reason: VersionReason
    /// For a rollback: the version whose state was re-activated.
    public var restoredFrom: Int?
    public var createdAt: Int64
}
