public import Logging
public import PluginHost
internal import Storage
internal import Synchronization

/// The heart of the host, with no HTTP in it: experiments, decisions, feedback
/// routed to the strategy that made each decision, and every strategy's state
/// versioned separately in SQLite. Nothing acknowledged is ever lost: feedback
/// is answered only after its batch committed.
///
/// `Engine.open` restores the state exactly as it was stored (the latest
/// active version of each strategy plus the events logged after it).
public final class Engine: Sendable {
    public let configuration: EngineConfiguration
    public let catalog: PluginCatalog
    let registry: Registry
    let pipeline: WritePipeline
    let identifiers: DecisionIdentifiers
    let reader: Mutex<Store>
    let checkpointer: Checkpointer
    let logger: Logger
    /// When the engine finished restoring.
    public let startedAt: ContinuousClock.Instant

    /// Limits that keep a single request from exhausting the host.
    public enum Limits {
        public static let armsPerExperiment = 1_024
        public static let nameLength = 200
        public static let contextLength = 1_024
        public static let eventsPerRequest = 10_000
        public static let eventIDLength = 256
        public static let strategiesPerExperiment = 16
    }

    /// Opens the database, restores every strategy and starts the writer.
    public static func open(configuration: EngineConfiguration, catalog: PluginCatalog,
                            logger: Logger = Logger(label: "arbiter.engine")) throws -> Engine {
        let store = try Store(path: configuration.databasePath, durability: configuration.durability)
        let boot = try store.nextBoot()
        let restored = try Recovery(store: store, catalog: catalog, logger: logger).restore()
        let reader = try Store(path: configuration.databasePath, durability: configuration.durability, migrate: false)
        let checkpointer = try Checkpointer(path: configuration.databasePath)
        let engine = Engine(configuration: configuration, catalog: catalog, registry: restored.registry, boot: boot,
                            reader: reader, checkpointer: checkpointer, logger: logger)
        let writer = Writer(store: store, registry: restored.registry, configuration: configuration, logger: logger,
                            monitor: engine.pipeline.monitor)
        writer.markDirty(restored.dirty)
        engine.pipeline.start(writer)
        logger.info("engine ready: boot \(boot), \(restored.registry.lineages.count) strategies restored, \(restored.replayed) events replayed")
        return engine
    }

    private init(configuration: EngineConfiguration, catalog: PluginCatalog, registry: Registry, boot: Int64,
                 reader: sending Store, checkpointer: Checkpointer, logger: Logger) {
        self.configuration = configuration
        self.catalog = catalog
        self.registry = registry
        self.pipeline = WritePipeline(configuration: configuration)
        self.identifiers = DecisionIdentifiers(boot: boot)
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
    }

    /// False once shutdown began: decisions and feedback are refused.
    public var isAccepting: Bool {
        pipeline.isAccepting
    }

    /// Figures of the write pipeline.
    public var statistics: PipelineStatistics {
        pipeline.monitor.statistics.withLock { $0 }
    }

    // MARK: Decisions

    /// Makes one decision.
    /// - Parameters:
    ///   - eligible: the arms available now (all arms when nil).
    ///   - context: optional context features, passed to the strategy.
    ///   - unitID: optional unit (user, session); with sticky assignment it
    ///     keeps its strategy.
    ///   - scores: also return each eligible arm's score.
    public func decide(tenant: String, experiment key: String, eligible: [String]? = nil, context: [Double]? = nil,
                       unitID: String? = nil, scores: Bool = false) throws(EngineError) -> DecisionResult {
        // Repeated arms are caught by the plugin host before the plugin is called.
        let (experiment, shape, arms) = try resolve(tenant: tenant, key: key, eligible: eligible, context: context, unitID: unitID)
        let seed = identifiers.seed()
        let lineage: Lineage
        let share: Double
        let single = shape.lineages.count == 1
        if single {
            // One strategy takes all the traffic it can: no draw to make, and
            // its availability is checked under the same lock as the selection.
            (lineage, share) = (shape.lineages[0], 1)
        } else {
            let draw = TrafficSplit.draw(seed: seed, unitID: unitID, experimentID: experiment.id, sticky: shape.assignment == .sticky)
            guard let chosen = TrafficSplit.choose(shape.lineages, weights: shape.lineages.map(\.effectiveWeight), draw: draw) else {
                throw .invalidStrategy("experiment '\(key)' has no strategy that can take traffic")
            }
            (lineage, share) = chosen
        }
        enum Selected {
            case decided(Decision, version: Int, appliedThrough: Int64)
            case refused(InvalidRequest)
            case noTraffic
        }
        let selected: Selected = lineage.state.withLock { state in
            if single, !(state.effectiveWeight > 0) { return .noTraffic }
            guard let instance = state.instance else { return .refused(InvalidRequest("strategy '\(lineage.name)' is not available")) }
            do throws(InvalidRequest) {
                let decision = try instance.select(eligible: arms, context: context ?? [], seed: seed, scores: scores)
                return .decided(decision, version: state.activeVersion, appliedThrough: state.appliedThrough)
            } catch {
                return .refused(error)
            }
        }
        let (decision, version, appliedThrough): (Decision, Int, Int64)
        switch selected {
        case let .decided(value, selectedVersion, applied): (decision, version, appliedThrough) = (value, selectedVersion, applied)
        case let .refused(error): throw .invalidArms(error.message)
        case .noTraffic: throw .invalidStrategy("experiment '\(key)' has no strategy that can take traffic")
        }
        let now = Store.now()
        let id = try pipeline.log(DecisionRecord(
            id: 0, experimentID: experiment.id, strategyID: lineage.id, modelVersion: version,
            appliedThrough: appliedThrough, arm: Int(decision.arm), propensity: decision.propensity,
            trafficShare: share, seed: seed, eligible: arms, context: context, unitID: unitID,
            fallback: decision.fallback?.description, createdAt: now), identifiers: identifiers)
        return DecisionResult(
            decisionID: DecisionIdentifiers.text(id), arm: shape.arms[Int(decision.arm)], armIndex: Int(decision.arm),
            propensity: decision.propensity, trafficShare: share, strategy: lineage.name, plugin: lineage.pluginName,
            modelVersion: version, appliedThrough: appliedThrough, seed: seed,
            scores: decision.scores.map { values in zip(arms, values).map { (shape.arms[Int($0)], $1) } },
            fallback: decision.fallback?.description)
    }

    /// Checks a decision request without making it: the same checks as
    /// `decide`, so a batch can be refused as a whole before anything is decided.
    public func checkDecision(tenant: String, experiment key: String, eligible: [String]? = nil, context: [Double]? = nil,
                              unitID: String? = nil) throws(EngineError) {
        let (_, shape, arms) = try resolve(tenant: tenant, key: key, eligible: eligible, context: context, unitID: unitID)
        var seen = Set<UInt32>()
        for arm in arms where !seen.insert(arm).inserted {
            throw .invalidArms("eligible_arms lists arm '\(shape.arms[Int(arm)])' twice")
        }
    }

    /// The experiment, its shape and the eligible arm indices of a decision request.
    private func resolve(tenant: String, key: String, eligible: [String]?, context: [Double]?,
                         unitID: String?) throws(EngineError) -> (ExperimentRuntime, ExperimentRuntime.Shape, [UInt32]) {
        let experiment = try runtime(tenant: tenant, key: key)
        let shape = experiment.shape
        guard shape.status == .active else { throw .experimentArchived(key) }
        let arms: [UInt32]
        if let eligible {
            guard !eligible.isEmpty else { throw .invalidArms("eligible_arms must name at least one arm") }
            guard eligible.count <= shape.arms.count else {
                throw .invalidArms("eligible_arms names \(eligible.count) arms but experiment '\(key)' has \(shape.arms.count)")
            }
            var indices: [UInt32] = []
            indices.reserveCapacity(eligible.count)
            for name in eligible {
                guard let index = shape.armIndex[name] else { throw .unknownArm("arm '\(name)' is not in experiment '\(key)'") }
                indices.append(index)
            }
            arms = indices
        } else {
            arms = shape.allArms
        }
        if let context {
            guard context.count <= Limits.contextLength else {
                throw .invalidRequest("context has \(context.count) features; at most \(Limits.contextLength)", field: "context")
            }
            guard context.allSatisfy(\.isFinite) else { throw .invalidRequest("context features must be finite numbers", field: "context") }
        }
        if let unitID, unitID.isEmpty || unitID.utf8.count > Limits.nameLength {
            throw .invalidRequest("unit_id must be 1 to \(Limits.nameLength) bytes", field: "unit_id")
        }
        return (experiment, shape, arms)
    }

    // MARK: Feedback

    /// Records feedback and returns, in order, what became of each event. It
    /// returns once the events' batch is committed and applied: an `accepted`
    /// event is stored and learned from. A `duplicate` (an event id the tenant
    /// sent before, even before a restart) changes nothing.
    /// - Throws: `overloaded` when the queue is full, `unknownTenant`.
    public func recordFeedback(tenant: String, _ events: [FeedbackEvent]) async throws(EngineError) -> [FeedbackOutcome] {
        guard let tenantRecord = registry.tenant(named: tenant) else { throw .unknownTenant(tenant) }
        guard events.count <= Limits.eventsPerRequest else {
            throw .invalidRequest("events has \(events.count) entries; at most \(Limits.eventsPerRequest) per request", field: "events")
        }
        guard !events.isEmpty else { return [] }
        let prepared = events.map { event in
            var rejection: (FeedbackOutcome.Rejection, String)?
            let decisionID = DecisionIdentifiers.parse(event.decisionID)
            if event.eventID.isEmpty || event.eventID.utf8.count > Limits.eventIDLength {
                rejection = (.invalid(field: "event_id"), "event_id must be 1 to \(Limits.eventIDLength) bytes")
            } else if decisionID == nil {
                // Not even the form of a decision id: no decision has it.
                rejection = (.unknownDecision, "unknown decision_id '\(event.decisionID.prefix(64))'")
            } else if !event.reward.isFinite {
                rejection = (.invalid(field: "reward"), "reward must be a finite number")
            } else if !event.weight.isFinite || event.weight < 0 {
                rejection = (.invalid(field: "weight"), "weight must be a finite number >= 0")
            }
            return WritePipeline.PreparedEvent(eventID: event.eventID, decisionID: decisionID ?? 0, reward: event.reward,
                                               weight: event.weight, rejection: rejection)
        }
        do {
            return try await withCheckedThrowingContinuation { continuation in
                do {
                    try pipeline.submit(.init(tenantID: tenantRecord.id, events: prepared, arrivedAt: .now, continuation: continuation))
                } catch {
                    continuation.resume(throwing: error)
                }
            }
        } catch let error as EngineError {
            throw error
        } catch {
            throw .storage("\(error)")
        }
    }

    // MARK: Helpers

    func runtime(tenant: String, key: String) throws(EngineError) -> ExperimentRuntime {
        let found = registry.experiment(tenantNamed: tenant, key: key)
        guard found.tenant != nil else { throw .unknownTenant(tenant) }
        guard let experiment = found.experiment else { throw .unknownExperiment(key) }
        return experiment
    }

    /// Runs `body` on the writer thread, mapping unexpected errors to `storage`.
    func write<T: Sendable>(_ body: @escaping @Sendable (Writer) throws -> T) async throws(EngineError) -> T {
        do {
            return try await pipeline.perform(body)
        } catch let error as EngineError {
            throw error
        } catch {
            throw .storage("\(error)")
        }
    }

    /// Runs `body` with the reader connection.
    func read<T: Sendable>(_ body: (Store) throws -> T) throws(EngineError) -> T {
        do {
            return try reader.withLock { store in try body(store) }
        } catch let error as EngineError {
            throw error
        } catch {
            throw .storage("\(error)")
        }
    }
}
