internal import PluginHost
internal import Storage
internal import Synchronization

/// One decision to make.
public struct DecisionRequest: Sendable, Equatable {
    /// The arms available now (all of the experiment's arms when nil).
    public var eligible: [String]?
    /// Optional context features, passed to the strategy.
    public var context: [Double]?
    /// Optional unit (user, session); with sticky assignment it keeps its strategy.
    public var unitID: String?
    /// Also return each eligible arm's score.
    public var scores: Bool

    public init(eligible: [String]? = nil, context: [Double]? = nil, unitID: String? = nil, scores: Bool = false) {
        self.eligible = eligible
        self.context = context
        self.unitID = unitID
        self.scores = scores
    }
}

extension Engine {
    /// Makes one decision.
    public func decide(tenant: String, experiment key: String, eligible: [String]? = nil, context: [Double]? = nil,
                       unitID: String? = nil, scores: Bool = false) async throws(EngineError) -> DecisionResult {
        try await decide(tenant: tenant, experiment: key,
                   DecisionRequest(eligible: eligible, context: context, unitID: unitID, scores: scores))
    }

    /// Makes one decision.
    public func decide(tenant: String, experiment key: String, _ request: DecisionRequest) async throws(EngineError) -> DecisionResult {
        let experiment = try runtime(tenant: tenant, key: key)
        let shape = experiment.shape
        let arms = try resolve(request, in: shape, key: key)
        return try await decide(experiment, shape: shape, arms: arms, request)
    }

    /// Makes a batch of decisions. Every request is checked before any is
    /// decided: a bad batch decides nothing, and the error names the request
    /// (`requests[i]...`).
    public func decide(tenant: String, experiment key: String, batch: [DecisionRequest]) async throws(EngineError) -> [DecisionResult] {
        guard !batch.isEmpty, batch.count <= Limits.decisionsPerBatch else {
            throw .invalid(.requests, "requests must hold 1 to \(Limits.decisionsPerBatch) decision requests")
        }
        let experiment = try runtime(tenant: tenant, key: key)
        let shape = experiment.shape
        var resolved: [[UInt32]] = []
        resolved.reserveCapacity(batch.count)
        for (index, request) in batch.enumerated() {
            do {
                resolved.append(try resolve(request, in: shape, key: key))
            } catch {
                throw error.nested(under: InputPath(.requests, index))
            }
        }
        var results: [DecisionResult] = []
        results.reserveCapacity(batch.count)
        for (index, request) in batch.enumerated() {
            results.append(try await decide(experiment, shape: shape, arms: resolved[index], request))
        }
        return results
    }

    /// Decides among `arms`, first creating the experiment `key` (with the
    /// tenant's default strategy) when it does not exist and adding the arms
    /// it does not have yet: the seed's predict endpoint. The whole request is
    /// checked before anything is created.
    /// - Parameter actor: the id of the API key that asks, recorded in the
    ///   audit trail when the experiment is created.
    public func decideCreatingOnFirstUse(tenant: String, experiment key: String, arms: [String],
                                         _ request: DecisionRequest, actor: String? = nil) async throws(EngineError) -> DecisionResult {
        try Validation.name(key, what: "experiment key", at: InputPath(.key))
        try Validation.arms(arms, existing: [], at: InputPath(.eligibleArms))
        try Validation.decisionInputs(context: request.context, unitID: request.unitID)
        var experiment: ExperimentRuntime
        switch registry.experiment(tenantNamed: tenant, key: key) {
        case .unknownTenant:
            throw .unknownTenant(tenant)
        case let .unknownExperiment(tenantRecord):
            do {
                experiment = try newExperiment(tenant: tenantRecord, ExperimentDefinition(
                    key: key, arms: arms,
                    strategies: [StrategySetup(plugin: tenantRecord.defaultStrategy, config: tenantRecord.defaultConfig)]),
                    namesChecked: true, actor: actor)
            } catch .experimentExists {
                // Created by a concurrent request; its arms are added below if needed.
                return try await decideCreatingOnFirstUse(tenant: tenant, experiment: key, arms: arms, request, actor: actor)
            }
        case let .experiment(_, runtime?):
            runtime.touch()
            experiment = runtime
        case let .experiment(id, nil):
            experiment = try load(id: id, tenantName: tenant)
        }
        let missing = arms.filter { experiment.shape.armIndex($0) == nil }
        if !missing.isEmpty {
            do {
                _ = try await updateExperiment(tenant: tenant, experiment: key, ExperimentUpdate(addArms: missing), actor: actor)
            } catch {
                // Refused because a concurrent request added them first: fine.
                let current = try runtime(tenant: tenant, key: key).shape
                guard missing.allSatisfy({ current.armIndex($0) != nil }) else { throw error }
            }
            experiment = try runtime(tenant: tenant, key: key)
        }
        var request = request
        request.eligible = arms
        let shape = experiment.shape
        return try await decide(experiment, shape: shape, arms: try resolve(request, in: shape, key: key, inputsChecked: true), request)
    }

    /// The eligible arm indices of a request, after every check that needs
    /// no strategy: the arms exist and are listed once, the context and unit
    /// id are acceptable.
    /// - Parameter inputsChecked: the context and unit id were checked by
    ///   the caller already (creation on first use checks them first).
    private func resolve(_ request: DecisionRequest, in shape: ExperimentRuntime.Shape, key: String,
                         inputsChecked: Bool = false) throws(EngineError) -> [UInt32] {
        guard shape.status == .active else { throw .experimentArchived(key) }
        if !inputsChecked { try Validation.decisionInputs(context: request.context, unitID: request.unitID) }
        guard let eligible = request.eligible else { return shape.allArms }
        guard !eligible.isEmpty else { throw .invalid(.eligibleArms, "eligible_arms must name at least one arm") }
        guard eligible.count <= Limits.armsPerExperiment else {
            throw .invalid(.eligibleArms, "eligible_arms names \(eligible.count) arms; at most \(Limits.armsPerExperiment)")
        }
        guard eligible.count <= shape.arms.count else {
            throw .conflict(.eligibleArms, "eligible_arms names \(eligible.count) arms but experiment '\(key)' has \(shape.arms.count)")
        }
        var indices: [UInt32] = []
        indices.reserveCapacity(eligible.count)
        // The arms seen so far, one bit each.
        var seen = [UInt64](repeating: 0, count: (shape.arms.count + 63) / 64)
        for (position, name) in eligible.enumerated() {
            guard let index = shape.armIndex(name) else {
                throw .conflict(at: InputPath(.eligibleArms, position), "arm '\(name.prefix(80))' is not in experiment '\(key)'")
            }
            let (word, bit) = (Int(index) >> 6, UInt64(1) << (UInt64(index) & 63))
            guard seen[word] & bit == 0 else {
                throw .invalid(at: InputPath(.eligibleArms, position), "eligible_arms lists arm '\(name.prefix(80))' twice")
            }
            seen[word] |= bit
            indices.append(index)
        }
        return indices
    }

    /// Makes one decision among checked `arms` of `experiment`'s `shape`.
    private func decide(_ experiment: ExperimentRuntime, shape: ExperimentRuntime.Shape, arms: [UInt32],
                        _ request: DecisionRequest) async throws(EngineError) -> DecisionResult {
        let seed = identifiers.seed()
        let lineage: Lineage
        let share: Double
        let single = shape.lineages.count == 1
        if single {
            // One strategy takes all the traffic it can: no draw to make, and
            // its availability is checked under the same lock as the selection.
            (lineage, share) = (shape.lineages[0], 1)
        } else {
            let draw = TrafficSplit.draw(seed: seed, unitID: request.unitID, experimentID: experiment.id,
                                         sticky: shape.assignment == .sticky)
            guard let chosen = TrafficSplit.choose(shape.lineages, weights: shape.lineages.map(\.effectiveWeight), draw: draw) else {
                throw .conflict(.key, "experiment '\(experiment.key)' has no strategy that can take traffic")
            }
            (lineage, share) = chosen
        }
        let selection = await lineage.select(
            Lineage.SelectionRequest(arms: arms, context: request.context ?? [], seed: seed, scores: request.scores, single: single),
            slow: slowSelectNanoseconds)
        let (decision, version, appliedThrough): (Decision, Int, Int64)
        switch selection {
        case let .decided(value, selectedVersion, applied): (decision, version, appliedThrough) = (value, selectedVersion, applied)
        case let .refused(message): throw .conflict(.eligibleArms, message)
        case .noTraffic: throw .conflict(.key, "experiment '\(experiment.key)' has no strategy that can take traffic")
        }
        let id = try pipeline.log(DecisionRecord(
            id: 0, experimentID: experiment.id, strategyID: lineage.id, modelVersion: version,
            appliedThrough: appliedThrough, arm: Int(decision.arm), propensity: decision.propensity,
            trafficShare: share, seed: seed, eligible: arms, context: request.context, unitID: request.unitID,
            fallback: decision.fallback?.description, createdAt: Store.now()), identifiers: identifiers)
        return DecisionResult(
            decisionID: DecisionIdentifiers.text(id), arm: shape.arms[Int(decision.arm)], armIndex: Int(decision.arm),
            propensity: decision.propensity, trafficShare: share, strategy: lineage.name, plugin: lineage.pluginName,
            modelVersion: version, appliedThrough: appliedThrough, seed: seed,
            scores: decision.scores.map { values in zip(arms, values).map { (shape.arms[Int($0)], $1) } },
            fallback: decision.fallback?.description)
    }
}
