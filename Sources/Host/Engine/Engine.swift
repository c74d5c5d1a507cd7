public import Logging
public import PluginHost
internal import SQLite
public import Storage
internal import Synchronization

/// The heart of the host, with no HTTP in it: experiments, decisions, feedback
/// routed to the strategy that made each decision, and every strategy's state
/// versioned separately in SQLite. Nothing acknowledged is ever lost: feedback
/// is answered only after its batch committed.
///
/// `Engine.open` restores the state exactly as it was stored (the latest
/// active version of each strategy plus the events logged after it). The
/// routes of the HTTP server, the command line and any other input reach the
/// same operations here, with the same rules.
public final class Engine: Sendable {
    public let configuration: EngineConfiguration
    /// The data directory, held by this engine.
    public let directory: DataDirectory
    /// Every plugin version loaded, and the active one of each name.
    public let plugins: PluginLibrary
    /// The active plugins, and the files refused.
    public var catalog: PluginCatalog { plugins.catalog }
    /// Every decision once stored, for those who follow them (the Kafka
    /// decisions topic).
    public let decisionFeed = DecisionFeed()
    /// Set while a plugin reload or activation runs (one at a time).
    let pluginChangeRunning = Atomic<Bool>(false)
    /// `configuration.slowSelect` in nanoseconds.
    let slowSelectNanoseconds: Int
    let registry: Registry
    let loader: ExperimentLoader
    let experimentIdentifiers: ExperimentIdentifiers
    let pipeline: WritePipeline
    let identifiers: DecisionIdentifiers
    let reader: Mutex<Store>
    let checkpointer: Checkpointer
    let logger: Logger
    /// When the engine finished restoring.
    public let startedAt: ContinuousClock.Instant
    /// Off-policy evaluations running now (at most `Limits.concurrentEvaluations`).
    let evaluationsRunning = Atomic<Int>(0)

    /// Limits that keep a single request from exhausting the host.
    public enum Limits {
        public static let armsPerExperiment = 1_024
        public static let nameLength = 200
        public static let contextLength = 1_024
        public static let eventsPerRequest = 10_000
        public static let eventIDLength = 256
        public static let strategiesPerExperiment = 16
        public static let decisionsPerBatch = 1_000
        /// Evaluations run at once; each holds its log in memory (about 80
        /// bytes per logged decision) and up to a quarter of a core.
        public static let concurrentEvaluations = 2
    }

    /// Opens the database, restores every strategy and starts the writer.
    /// - Throws: `StartupError` when the data directory or its database
    ///   cannot be used (in use by another process, unwritable, locked,
    ///   truncated, damaged, unreadable, of a newer schema): nothing was
    ///   written to them.
    public static func open(configuration: EngineConfiguration, catalog: PluginCatalog,
                            logger: Logger = Logger(label: "arbiter.engine")) throws -> Engine {
        try open(configuration: configuration, plugins: PluginLibrary(catalog: catalog), logger: logger)
    }

    /// Opens the engine with the plugins of a library. A library built on a
    /// plugin directory is loaded here, once the data directory passed its
    /// checks: each library from its content-addressed copy under
    /// `<data>/plugins`.
    public static func open(configuration: EngineConfiguration, plugins: PluginLibrary,
                            logger: Logger = Logger(label: "arbiter.engine")) throws -> Engine {
        let directory = try DataDirectory(path: configuration.dataDirectory)
        try directory.checkDatabase(integrity: configuration.checkIntegrityAtStart)
        if plugins.directory != nil {
            plugins.loadAll(copiesIn: directory.pluginCopiesPath)
            if plugins.catalog.plugins.isEmpty {
                logger.warning("no strategy plugin loaded: experiments cannot decide (see `arbiter plugins`)")
            }
        }
        do {
            return try open(configuration: configuration, directory: directory, plugins: plugins, logger: logger)
        } catch let error as SQLiteError {
            throw StartupError(database: directory.databasePath, error)
        }
    }

    private static func open(configuration: EngineConfiguration, directory: DataDirectory, plugins: PluginLibrary,
                             logger: Logger) throws -> Engine {
        let store = try Store(path: configuration.databasePath, durability: configuration.durability)
        let boot = try store.nextBoot()
        let loader = ExperimentLoader(plugins: plugins, logger: logger)
        let restored = try Recovery(store: store, loader: loader, logger: logger).restore()
        let reader = try Store(path: configuration.databasePath, durability: configuration.durability, migrate: false)
        let checkpointer = try Checkpointer(path: configuration.databasePath, maxLogBytes: configuration.maxLogBytes)
        let highest = try store.highestIDs()
        let engine = Engine(configuration: configuration, directory: directory, plugins: plugins, registry: restored.registry, loader: loader,
                            identifiers: ExperimentIdentifiers(highestExperiment: highest.experiment, highestStrategy: highest.strategy),
                            boot: boot, reader: reader, checkpointer: checkpointer, logger: logger)
        let writer = Writer(store: store, registry: restored.registry, loader: loader, configuration: configuration, logger: logger,
                            monitor: engine.pipeline.monitor, checkpointer: checkpointer, decisionFeed: engine.decisionFeed)
        writer.markDirty(restored.dirty)
        engine.pipeline.start(writer)
        logger.info("engine ready: boot \(boot), \(restored.registry.experimentCount) experiments, \(restored.loaded) loaded to replay \(restored.replayed) events")
        return engine
    }

    private init(configuration: EngineConfiguration, directory: DataDirectory, plugins: PluginLibrary, registry: Registry,
                 loader: ExperimentLoader, identifiers: ExperimentIdentifiers, boot: Int64, reader: sending Store,
                 checkpointer: Checkpointer, logger: Logger) {
        self.configuration = configuration
        self.directory = directory
        self.plugins = plugins
        slowSelectNanoseconds = Int(configuration.slowSelect.nanoseconds)
        self.registry = registry
        self.loader = loader
        self.experimentIdentifiers = identifiers
        self.pipeline = WritePipeline(configuration: configuration)
        self.identifiers = DecisionIdentifiers(boot: boot, node: configuration.nodeID)
        self.reader = Mutex(reader)
        self.checkpointer = checkpointer
        self.logger = logger
        self.startedAt = .now
    }

    /// Drains the queues, saves every strategy with unsaved events, and stops
    /// the writer. Decisions and feedback are refused from the first call on.
    public func shutdown() async {
        await pipeline.shutdown()
        checkpointer.stop()
        directory.release()
    }

    /// False once shutdown began: decisions and feedback are refused.
    public var isAccepting: Bool {
        pipeline.isAccepting
    }

    /// Figures of the write pipeline.
    public var statistics: PipelineStatistics {
        pipeline.monitor.statistics.withLock { $0 }
    }

    /// Experiments known, those in memory, and the memory estimated for them.
    public var experimentCounts: (known: Int, inMemory: Int, estimatedBytes: Int) {
        let footprint = registry.residentFootprint
        return (registry.experimentCount, footprint.count, footprint.bytes)
    }

    /// The write-ahead log: its size now, the largest seen, the resets done.
    public var writeAheadLog: (bytes: Int, largestBytes: Int, resets: Int) {
        (checkpointer.logBytes, checkpointer.largestLogBytes, checkpointer.resetCount)
    }

    /// Returns once everything queued before the call (decisions logged, new
    /// experiments, feedback) has been written: for tests and tools that must
    /// see the database up to date, instead of waiting for a fixed time.
    /// - Throws: the error of that write when it failed (it is retried with
    ///   the next batch).
    public func flush() async throws(EngineError) {
        try await write { writer in
            if let failure = writer.lastFailure { throw failure }
        }
    }

    // MARK: Helpers

    /// The experiment `key` of the tenant, loaded into memory if it is not.
    func runtime(tenant: String, key: String) throws(EngineError) -> ExperimentRuntime {
        switch registry.experiment(tenantNamed: tenant, key: key) {
        case .unknownTenant:
            throw .unknownTenant(tenant)
        case .unknownExperiment:
            throw .unknownExperiment(key)
        case let .experiment(_, runtime?):
            runtime.touch()
            return runtime
        case let .experiment(id, nil):
            return try load(id: id, tenantName: tenant)
        }
    }

    /// Loads an experiment into memory (one loaded by another caller first is kept).
    func load(id: Int64, tenantName: String) throws(EngineError) -> ExperimentRuntime {
        let loader = self.loader
        let loaded = try read { store in try loader.load(id: id, tenantName: tenantName, from: store) }
        guard let loaded else { throw .storage("experiment \(id) is indexed but not stored") }
        return registry.install(loaded)
    }

    func lineage(tenant: String, key: String, strategy name: String) throws(EngineError) -> Lineage {
        let experiment = try runtime(tenant: tenant, key: key)
        guard let lineage = experiment.shape.lineage(named: name) else {
            throw .unknownStrategy("experiment '\(key)' has no strategy '\(name)'")
        }
        return lineage
    }

    /// Runs `body` on the writer thread, mapping unexpected errors to `storage`.
    func write<T: Sendable>(_ body: @escaping @Sendable (Writer) throws -> T) async throws(EngineError) -> T {
        do {
            return try await pipeline.perform(body)
        } catch {
            throw EngineError(error)
        }
    }

    /// Runs `body` with the reader connection.
    func read<T: Sendable>(_ body: (Store) throws -> T) throws(EngineError) -> T {
        do {
            return try reader.withLock { store in try body(store) }
        } catch {
            throw EngineError(error)
        }
    }
}

extension EngineError {
    /// Any error of the engine's own work: engine errors as they are, a full
    /// disk as `diskFull`, a plugin failure as `plugin`, anything else as `storage`.
    init(_ error: any Error) {
        switch error {
        case let error as EngineError: self = error
        case let error as PluginCallError: self = .plugin(error)
        case let error as SQLiteError where error.isFull: self = .diskFull("the disk is full: \(error.message)")
        default: self = .storage("\(error)")
        }
    }
}
