internal import Logging
internal import CoreMetrics
internal import PluginHost
internal import SQLite
internal import Storage
internal import Synchronization

/// What only the writer thread touches: the writer connection, the recent
/// decision routes and the set of lineages with unsaved events. Commands
/// passed to `WritePipeline.perform` receive it.
///
/// Thread-confined rather than locked: it is handed to the writer thread once
/// at start and used there only, hence `@unchecked Sendable`.
final class Writer: @unchecked Sendable {
    let store: Store
    let registry: Registry
    let loader: ExperimentLoader
    let configuration: EngineConfiguration
    let logger: Logger
    let monitor: PipelineMonitor
    /// Asks for the write-ahead log to be emptied; the writer does it between transactions.
    let checkpointer: Checkpointer
    private var recent: RecentDecisions
    /// Lineages with events applied since their last saved version.
    private(set) var dirty: Set<Int64> = []
    /// Decisions and new experiments of a batch whose transaction failed,
    /// written with the next one.
    private var retryDecisions: [DecisionRecord] = []
    private var retryCreations: [ExperimentRuntime] = []
    /// Why the last batch failed; nil once one succeeds.
    private(set) var lastFailure: EngineError?

    /// Decisions of a failed batch, held to be written again.
    var heldDecisionCount: Int { retryDecisions.count }

    /// A failed batch's decisions or new experiments wait to be written, or
    /// the last batch failed and the store must be tried again.
    var hasPendingRetry: Bool { !retryDecisions.isEmpty || !retryCreations.isEmpty || lastFailure != nil }
    /// The sequence number of the last stored event (read from the store
    /// before the first batch, and again after a batch failed).
    private var lastEventSequence: Int64?
    private let batchSizes: Recorder
    private let eventToModel: CoreMetrics.Timer
    private let versionsWritten: Counter

    /// Where stored decisions go to those who follow them.
    let decisionFeed: DecisionFeed

    init(store: Store, registry: Registry, loader: ExperimentLoader, configuration: EngineConfiguration, logger: Logger,
         monitor: PipelineMonitor, checkpointer: Checkpointer, decisionFeed: DecisionFeed) {
        self.decisionFeed = decisionFeed
        self.store = store
        self.loader = loader
        self.checkpointer = checkpointer
        self.registry = registry
        self.configuration = configuration
        self.logger = logger
        self.monitor = monitor
        self.recent = RecentDecisions(capacity: configuration.recentDecisionCapacity)
        let factory = configuration.metrics ?? MetricsSystem.factory
        batchSizes = Recorder(label: "arbiter_feedback_batch_size", factory: factory)
        eventToModel = CoreMetrics.Timer(label: "arbiter_event_to_model_seconds", factory: factory)
        versionsWritten = Counter(label: "arbiter_model_versions_written_total", factory: factory)
    }

    /// Marks lineages that have unsaved events (after recovery replayed some).
    func markDirty(_ ids: some Sequence<Int64>) {
        dirty.formUnion(ids)
    }

    private struct ArmKey: Hashable {
        var experimentID: Int64
        var arm: Int
    }

    /// A report bucket: one strategy's arm in one hour of an experiment.
    private struct BucketKey: Hashable {
        var experimentID: Int64
        var strategyID: Int64
        var arm: Int
        var hour: Int64
    }

    /// The report buckets a batch adds to.
    private struct Buckets {
        var values: [BucketKey: ReportBucket] = [:]

        mutating func add(experimentID: Int64, strategyID: Int64, arm: Int, at time: Int64, _ change: (inout ReportBucket) -> Void) {
            let hour = ReportBucket.hour(of: time)
            let key = BucketKey(experimentID: experimentID, strategyID: strategyID, arm: arm, hour: hour)
            change(&values[key, default: ReportBucket(strategyID: strategyID, arm: arm, hour: hour)])
        }
    }

    /// The tenant of each experiment, looked up once per batch (nil for an
    /// experiment that no longer exists).
    private struct ExperimentTenants {
        let registry: Registry
        private var known: [Int64: Int64?] = [:]

        init(registry: Registry) {
            self.registry = registry
        }

        mutating func tenant(of experimentID: Int64) -> Int64? {
            if let tenant = known[experimentID] { return tenant }
            let tenant = registry.tenantID(ofExperiment: experimentID)
            known[experimentID] = tenant
            return tenant
        }
    }

    /// An arm's decisions in one batch: how many, and the latest.
    private struct DecisionCount {
        var count = 0
        var at: Int64 = 0

        mutating func add(at time: Int64) {
            count += 1
            at = max(at, time)
        }
    }

    private struct LineageUpdate {
        var records: [FeedbackRecord] = []
        var lastEventID: Int64 = 0

        mutating func append(_ record: FeedbackRecord, sequence: Int64) {
            records.append(record)
            lastEventID = sequence
        }
    }

    /// The events a batch stores, numbered in order after the last stored one.
    private struct EventLog {
        var sequence: Int64 = 0
        var records: [EventRecord] = []

        mutating func append(_ record: EventRecord) -> Int64 {
            sequence += 1
            var record = record
            record.id = sequence
            records.append(record)
            return sequence
        }
    }

    /// A lineage as one batch sees it: looked up once per batch, not per event.
    private struct LineageTarget {
        var lineage: Lineage?
        var unavailable: String?
    }

    /// The lineage a decision of `route` was made by, loading its experiment
    /// into memory if it is not.
    private func lineageTarget(_ route: DecisionRoute, batch targets: inout [Int64: LineageTarget]) throws -> LineageTarget {
        if let target = targets[route.strategyID] { return target }
        var lineage = registry.lineage(id: route.strategyID)
        if lineage == nil, let runtime = try runtime(experimentID: route.experimentID) {
            lineage = runtime.shape.lineages.first { $0.id == route.strategyID }
        }
        let target = LineageTarget(lineage: lineage, unavailable: lineage?.state.withLock { $0.unavailable })
        targets[route.strategyID] = target
        return target
    }

    /// The experiment with that id, loaded into memory (through the writer's
    /// own connection) if it is not; nil when it does not exist.
    func runtime(experimentID: Int64) throws -> ExperimentRuntime? {
        if let runtime = registry.resident(id: experimentID) { return runtime }
        guard let tenantID = registry.tenantID(ofExperiment: experimentID), let tenant = registry.tenant(id: tenantID),
              let loaded = try loader.load(id: experimentID, tenantName: tenant.name, from: store) else { return nil }
        return registry.install(loaded)
    }

    // MARK: Feedback batches

    /// Writes one batch (decisions, then events) in one transaction, then
    /// applies the accepted events to the live strategies and answers the
    /// callers. If the transaction fails nothing is applied or acknowledged.
    func commit(_ taken: [WritePipeline.Submission], decisions newDecisions: [DecisionRecord],
                creations newCreations: [ExperimentRuntime]) {
        // A submission of a chain with a failed one before it is not written
        // (the chain's owner submits both again, in order).
        var submissions = taken
        if taken.contains(where: { $0.chain?.isBroken == true }) {
            submissions = taken.filter { $0.chain?.isBroken != true }
            for submission in taken where submission.chain?.isBroken == true {
                submission.completion(.failure(.overloaded("an earlier batch of the same source was not stored: submit this one again after it")))
            }
        }
        let decisions = retryDecisions.isEmpty ? newDecisions : retryDecisions + newDecisions
        let creations = retryCreations.isEmpty ? newCreations : retryCreations + newCreations
        retryDecisions = []
        retryCreations = []
        var outcomes = submissions.map { $0.events.map { FeedbackOutcome(eventID: $0.eventID, status: .rejected) } }
        var updates: [Int64: LineageUpdate] = [:]
        var feedbackStats: [ArmKey: ArmStats] = [:]
        var buckets = Buckets()
        var batchRoutes: [UInt64: DecisionRoute] = [:]
        var newRoutes: [(UInt64, DecisionRoute)] = []
        newRoutes.reserveCapacity(decisions.count)
        var targets: [Int64: LineageTarget] = [:]
        var events = EventLog()
        let now = Store.now()

        do {
            try store.transaction {
                // After a failure with nothing to write again, a small write
                // tells whether the store takes writes again (space returned).
                if lastFailure != nil, creations.isEmpty, decisions.isEmpty, submissions.isEmpty {
                    try store.recordWriteProbe()
                }
                // New experiments first: the decisions below may be theirs.
                for runtime in creations { try write(runtime) }
                try store.insertDecisions(decisions)
                var decisionCounts: [ArmKey: DecisionCount] = [:]
                var tenants = ExperimentTenants(registry: registry)
                for decision in decisions {
                    decisionCounts[ArmKey(experimentID: decision.experimentID, arm: decision.arm), default: DecisionCount()]
                        .add(at: decision.createdAt)
                    buckets.add(experimentID: decision.experimentID, strategyID: decision.strategyID, arm: decision.arm,
                                at: decision.createdAt) { $0.decisions += 1 }
                    if let tenantID = tenants.tenant(of: decision.experimentID) {
                        let route = DecisionRoute(tenantID: tenantID, experimentID: decision.experimentID,
                                                  strategyID: decision.strategyID, arm: decision.arm)
                        newRoutes.append((decision.id, route))
                        // Feedback in this same batch may be for these decisions.
                        if !submissions.isEmpty { batchRoutes[decision.id] = route }
                    }
                }
                for (key, value) in decisionCounts {
                    try store.addDecisionStats(experimentID: key.experimentID, arm: key.arm, count: value.count, at: value.at)
                }
                events.sequence = try lastEventSequence ?? store.lastEventID()
                events.records.reserveCapacity(submissions.reduce(0) { $0 + $1.events.count })
                for (s, submission) in submissions.enumerated() {
                    for (e, event) in submission.events.enumerated() {
                        outcomes[s][e] = try handle(event, tenantID: submission.tenantID, now: now, batchRoutes: batchRoutes,
                                                    targets: &targets, log: &events, updates: &updates, stats: &feedbackStats,
                                                    buckets: &buckets)
                    }
                }
                try store.insertEvents(events.records)
                for (lineageID, update) in updates {
                    try store.setLastEventID(strategyID: lineageID, update.lastEventID)
                }
                for (key, stats) in feedbackStats {
                    try store.addFeedbackStats(experimentID: key.experimentID, arm: key.arm, stats)
                }
                for (key, bucket) in buckets.values {
                    try store.addReportBuckets(experimentID: key.experimentID, bucket)
                }
                // Where a Kafka consumer stands, with the batch its messages
                // went into (in submission order: a later one is further on).
                for submission in submissions where !submission.offsets.isEmpty {
                    try store.storeKafkaOffsets(submission.offsets, at: now)
                }
            }
        } catch {
            let failure = EngineError(error)
            if lastFailure == nil {
                if case .diskFull = failure {
                    logger.error("\(store.database.path): the disk is full; feedback is refused (503) until space returns, decisions are served from memory and written then; free space on this disk")
                } else {
                    logger.error("a batch could not be written, nothing of it was (written again with the next): \(error)")
                }
            }
            retryDecisions = decisions
            retryCreations = creations
            lastFailure = failure
            lastEventSequence = nil
            for submission in submissions {
                submission.chain?.breakChain()
                submission.completion(.failure(failure))
            }
            return
        }

        if lastFailure != nil {
            logger.notice("writing works again: \(decisions.count) decisions and \(creations.count) new experiments that waited are written")
        }
        lastFailure = nil
        lastEventSequence = events.sequence
        for runtime in creations { runtime.markStored() }
        decisionFeed.publish(decisions, registry: registry)
        for (id, route) in newRoutes { recent.insert(id, route) }
        var refused = 0
        for (lineageID, update) in updates {
            guard let lineage = targets[lineageID]?.lineage else { continue }
            refused += lineage.state.withLock { $0.apply(update.records, through: update.lastEventID) }
            dirty.insert(lineageID)
        }
        if refused > 0 {
            logger.error("plugins refused \(refused) validated feedback records; they were skipped")
        }

        let answeredAt = ContinuousClock.now
        var counts = (accepted: 0, duplicates: 0, rejected: 0)
        for (s, submission) in submissions.enumerated() {
            for outcome in outcomes[s] {
                switch outcome.status {
                case .accepted: counts.accepted += 1
                case .duplicate: counts.duplicates += 1
                case .rejected: counts.rejected += 1
                }
            }
            submission.completion(.success(outcomes[s]))
        }
        let received = submissions.reduce(0) { $0 + $1.events.count }
        if !submissions.isEmpty { batchSizes.record(received) }
        for submission in submissions {
            let latency = answeredAt - submission.arrivedAt
            eventToModel.recordNanoseconds(latency.nanoseconds)
        }
        monitor.statistics.withLock { statistics in
            statistics.decisionsLogged += decisions.count
            statistics.pluginRefusals += refused
            guard !submissions.isEmpty else { return }
            statistics.batches += 1
            statistics.accepted += counts.accepted
            statistics.duplicates += counts.duplicates
            statistics.rejected += counts.rejected
            statistics.lastBatchSize = received
            statistics.lastBatchAt = Store.now()
            statistics.recentBatchSizes.record(received)
            for submission in submissions {
                let latency = answeredAt - submission.arrivedAt
                statistics.recentLatencies.record(latency.seconds)
            }
        }
    }

    /// Writes a new experiment's rows (inside the batch's transaction).
    private func write(_ runtime: ExperimentRuntime) throws {
        try store.insertExperiment(runtime.record)
        for lineage in runtime.shape.lineages {
            let (config, weight) = lineage.state.withLock { ($0.config, $0.weight) }
            try store.insertStrategy(StrategyRecord(id: lineage.id, experimentID: runtime.id, name: lineage.name, plugin: lineage.pluginName,
                                                    config: config, weight: weight, createdAt: runtime.createdAt, updatedAt: runtime.createdAt))
        }
        try store.insertAudit(AuditRecord(at: runtime.createdAt, actor: runtime.createdBy, tenantID: runtime.tenantID,
                                          experimentID: runtime.id, subject: runtime.key, action: "experiment.create",
                                          before: nil, after: AuditSnapshot.experiment(runtime)))
    }

    /// Routes, checks and stores one event inside the batch's transaction.
    private func handle(
        _ event: WritePipeline.PreparedEvent, tenantID: Int64, now: Int64, batchRoutes: [UInt64: DecisionRoute],
        targets: inout [Int64: LineageTarget], log: inout EventLog, updates: inout [Int64: LineageUpdate],
        stats: inout [ArmKey: ArmStats], buckets: inout Buckets
    ) throws -> FeedbackOutcome {
        func rejected(_ rejection: FeedbackOutcome.Rejection, _ reason: String) -> FeedbackOutcome {
            .rejected(event.eventID, rejection, reason)
        }
        if let (rejection, reason) = event.rejection { return rejected(rejection, reason) }
        let route: DecisionRoute
        if let carried = event.route {
            // The event names its decision's route: every host with the same
            // experiments resolves it the same way, whoever made the decision.
            switch try resolve(carried, tenantID: tenantID) {
            case .success(let resolved): route = resolved
            case .failure(let refusal): return rejected(refusal.rejection, refusal.reason)
            }
        } else {
            let found = try (batchRoutes.isEmpty ? nil : batchRoutes[event.decisionID]) ?? recent.route(event.decisionID)
                ?? storedRoute(event.decisionID)
            guard let found, found.tenantID == tenantID else {
                return rejected(.unknownDecision, "unknown decision_id '\(DecisionIdentifiers.text(event.decisionID))'")
            }
            route = found
        }
        let target = try lineageTarget(route, batch: &targets)
        guard let lineage = target.lineage else {
            return rejected(.strategyUnavailable, "the strategy that made decision '\(DecisionIdentifiers.text(event.decisionID))' no longer exists")
        }
        if let unavailable = target.unavailable {
            return rejected(.strategyUnavailable, "strategy '\(lineage.name)' cannot learn now: \(unavailable)")
        }
        guard lineage.rewardRange.contains(event.reward) else {
            let range = lineage.rewardRange
            return rejected(.invalid(.reward), "reward \(event.reward) is outside the range [\(range.lowerBound), \(range.upperBound)] of strategy '\(lineage.name)'")
        }
        guard try store.claimEventID(tenantID: tenantID, eventID: event.eventID) else {
            return FeedbackOutcome(eventID: event.eventID, status: .duplicate)
        }
        let sequence = log.append(EventRecord(
            id: 0, tenantID: tenantID, eventID: event.eventID, decisionID: event.decisionID, strategyID: route.strategyID,
            arm: route.arm, reward: event.reward, weight: event.weight, createdAt: now))
        updates[route.strategyID, default: LineageUpdate()].append(
            FeedbackRecord(arm: UInt32(route.arm), reward: event.reward, weight: event.weight), sequence: sequence)
        stats[ArmKey(experimentID: route.experimentID, arm: route.arm), default: ArmStats()]
            .add(reward: event.reward, weight: event.weight, at: now)
        buckets.add(experimentID: route.experimentID, strategyID: route.strategyID, arm: route.arm, at: now) {
            $0.add(reward: event.reward, weight: event.weight)
        }
        return FeedbackOutcome(eventID: event.eventID, status: .accepted)
    }

    /// Why a carried route names nothing here.
    struct RouteRefusal: Error {
        let rejection: FeedbackOutcome.Rejection
        let reason: String
    }

    /// The route an event carries, in this host's ids: the tenant's
    /// experiment by key, its strategy by name, the arm by name.
    private func resolve(_ carried: FeedbackRoute, tenantID: Int64) throws -> Result<DecisionRoute, RouteRefusal> {
        guard let experimentID = registry.experimentID(tenantID: tenantID, key: carried.experiment),
              let runtime = try runtime(experimentID: experimentID) else {
            return .failure(RouteRefusal(rejection: .unknownDecision, reason: "experiment '\(carried.experiment.prefix(64))' does not exist on this host"))
        }
        let shape = runtime.shape
        guard let lineage = shape.lineage(named: carried.strategy) else {
            return .failure(RouteRefusal(rejection: .strategyUnavailable,
                                         reason: "experiment '\(runtime.key)' has no strategy '\(carried.strategy.prefix(64))'"))
        }
        guard let arm = shape.armIndex(carried.arm) else {
            return .failure(RouteRefusal(rejection: .unknownDecision, reason: "experiment '\(runtime.key)' has no arm '\(carried.arm.prefix(64))'"))
        }
        return .success(DecisionRoute(tenantID: tenantID, experimentID: experimentID, strategyID: lineage.id, arm: Int(arm)))
    }

    /// The route of a decision older than the recent ones, from the log. The
    /// routes of its whole block join the recent ones: more feedback for
    /// decisions of that time tends to follow (after a restart, most of it).
    private func storedRoute(_ id: UInt64) throws -> DecisionRoute? {
        var found: DecisionRoute?
        var tenants = ExperimentTenants(registry: registry)
        for origin in try store.decisionOrigins(around: id) {
            guard let tenantID = tenants.tenant(of: origin.experimentID) else { continue }
            let route = DecisionRoute(tenantID: tenantID, experimentID: origin.experimentID, strategyID: origin.strategyID, arm: origin.arm)
            recent.insert(origin.id, route)
            if origin.id == id { found = route }
        }
        return found
    }

    /// Empties the write-ahead log when the checkpointer asks (between transactions).
    func resetLogIfWanted() {
        guard checkpointer.wantsReset else { return }
        checkpointer.reset()
    }

    // MARK: Versions

    /// Saves a new version of every dirty lineage that is due (or of all of
    /// them when `force`, at shutdown).
    func saveDueVersions(force: Bool) {
        let now = ContinuousClock.now
        for id in dirty.sorted() {
            guard let lineage = registry.lineage(id: id) else {
                dirty.remove(id)
                continue
            }
            let due = lineage.state.withLock { state in
                state.unsavedEvents > 0 && (force || state.unsavedEvents >= configuration.snapshotEveryEvents
                    || state.unsavedSince.map { now - $0 >= configuration.snapshotInterval } ?? false)
            }
            guard due else { continue }
            do {
                _ = try save(lineage, reason: force ? .shutdown : .periodic)
            } catch {
                logger.error("saving strategy '\(lineage.name)' of experiment \(lineage.experimentID) failed: \(error)")
            }
        }
    }

    /// Writes the lineage's current state as its new active version.
    func save(_ lineage: Lineage, reason: VersionReason) throws -> ModelVersionRecord? {
        let snapshot: (state: [UInt8], watermark: Int64, plugin: StrategyPlugin, config: String)? = try lineage.state.withLock { state in
            guard let instance = state.instance, let plugin = state.plugin, state.unavailable == nil else { return nil }
            return (try instance.serialize(), state.appliedThrough, plugin, state.config)
        }
        guard let snapshot else { return nil }
        let record = try store.transaction {
            try recordVersion(of: lineage, state: snapshot.state, plugin: snapshot.plugin, config: snapshot.config,
                              watermark: snapshot.watermark, reason: reason)
        }
        lineage.state.withLock { state in
            state.activeVersion = record.version
            state.markSaved()
        }
        dirty.remove(lineage.id)
        return record
    }

    /// Stores `state` as the lineage's new active version: the one place a
    /// version is written (a save, a new configuration, a rollback). Call it
    /// inside a transaction.
    func recordVersion(of lineage: Lineage, state: [UInt8], plugin: StrategyPlugin, config: String, watermark: Int64,
                       reason: VersionReason, restoredFrom: Int? = nil) throws -> ModelVersionRecord {
        let record = try store.insertVersion(
            strategyID: lineage.id, state: state, stateFormatVersion: Int(StateEnvelope(state)?.stateFormatVersion ?? 0),
            pluginName: plugin.name, pluginVersion: plugin.version.description, config: config, watermark: watermark,
            status: .active, reason: reason, restoredFrom: restoredFrom)
        monitor.statistics.withLock { $0.versionsWritten += 1 }
        versionsWritten.increment()
        return record
    }
}
