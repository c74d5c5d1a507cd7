public import Storage
internal import PluginHost

/// One strategy of an experiment, as configured.
public struct StrategySetup: Sendable, Equatable {
    /// Name within the experiment; its state lineage is kept under it.
    public var name: String
    /// The plugin's strategy name.
    public var plugin: String
    /// The plugin's parameters, a JSON object.
    public var config: String
    /// Relative share of traffic; 0 takes none (its state is kept).
    public var weight: Double
    /// The plugin version it runs, pinned (a canary beside the active
    /// version); nil to run the active version and follow its upgrades.
    public var pluginVersion: String?

    public init(name: String? = nil, plugin: String, config: String = "{}", weight: Double = 1, pluginVersion: String? = nil) {
        self.pluginVersion = pluginVersion
        self.name = name ?? plugin
        self.plugin = plugin
        self.config = config
        self.weight = weight
    }
}

/// What an experiment is created with.
public struct ExperimentDefinition: Sendable {
    public var key: String
    public var arms: [String]
    public var strategies: [StrategySetup]
    public var assignment: Assignment

    public init(key: String, arms: [String], strategies: [StrategySetup], assignment: Assignment = .random) {
        self.key = key
        self.arms = arms
        self.strategies = strategies
        self.assignment = assignment
    }
}

/// A change to an experiment. Absent fields stay as they are.
public struct ExperimentUpdate: Sendable {
    /// Arms to append.
    public var addArms: [String] = []
    /// Strategies to add or change (matched by name). A strategy left out
    /// keeps its settings; set its weight to 0 to take it out of traffic.
    public var strategies: [StrategySetup] = []
    public var assignment: Assignment?
    public var status: ExperimentStatus?

    public init(addArms: [String] = [], strategies: [StrategySetup] = [], assignment: Assignment? = nil, status: ExperimentStatus? = nil) {
        self.addArms = addArms
        self.strategies = strategies
        self.assignment = assignment
        self.status = status
    }
}

/// An experiment as the engine reports it.
public struct ExperimentInfo: Sendable, Equatable {
    public struct Strategy: Sendable, Equatable {
        public var name: String
        public var plugin: String
        public var pluginVersion: String?
        public var config: String
        public var weight: Double
        /// Share of traffic (weight over the sum of weights).
        public var trafficShare: Double
        /// The active model version (0 before the first save).
        public var activeVersion: Int
        /// The last learning event applied.
        public var appliedThrough: Int64
        /// Why the strategy cannot run, when it cannot (e.g. plugin not loaded).
        public var unavailable: String?
        /// Whether it is pinned to `pluginVersion` (a canary) rather than
        /// running the active version.
        public var pinned = false
        /// The checksum of its live state as serialized now (equal on every
        /// host that learned the same events); nil when it is not in memory.
        public var stateChecksum: String? = nil
    }

    public var key: String
    public var tenant: String
    public var arms: [String]
    public var strategies: [Strategy]
    public var assignment: Assignment
    public var status: ExperimentStatus
    public var createdAt: Int64
    public var updatedAt: Int64
}

extension ExperimentInfo {
    /// An experiment that is not in memory, described from its stored rows:
    /// its strategies' watermarks are their saved ones (an experiment leaves
    /// memory only with everything learned saved).
    init(_ record: ExperimentRecord, tenantName: String, strategies: [StrategyRecord],
         activeVersion: (Int64) throws -> Int, plugins library: PluginLibrary) throws {
        let plugins = strategies.map { library.plugin(named: $0.plugin, pinned: $0.pluginVersion) }
        let weights = zip(strategies, plugins).map { $1 == nil ? 0 : $0.weight }
        let total = weights.reduce(0, +)
        self.init(
            key: record.key, tenant: tenantName, arms: record.arms,
            strategies: try zip(strategies, zip(plugins, weights)).map { strategy, pluginAndWeight in
                let (plugin, weight) = pluginAndWeight
                return Strategy(name: strategy.name, plugin: strategy.plugin, pluginVersion: plugin?.version.description,
                                config: strategy.config, weight: strategy.weight, trafficShare: total > 0 ? weight / total : 0,
                                activeVersion: try activeVersion(strategy.id), appliedThrough: strategy.lastEventID,
                                unavailable: plugin == nil ? "plugin '\(strategy.plugin)' is not loaded" : nil,
                                pinned: strategy.pluginVersion != nil)
            },
            assignment: record.assignment, status: record.status, createdAt: record.createdAt, updatedAt: record.updatedAt)
    }
}
