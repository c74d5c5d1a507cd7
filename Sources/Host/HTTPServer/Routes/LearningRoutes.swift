internal import Engine
internal import FoundationEssentials
internal import Hummingbird
internal import PluginHost
internal import Storage

extension RouteRegistrar {
    /// The seed's endpoints, at the seed's paths, so its clients keep working.
    mutating func registerLearningAPI() {
        let server = self.server
        let engine = server.engine

        add(.post, "/api/learning/predict/agent-selection", .tenant) { request, _, caller in
            let input = try await server.body(PredictRequest.self, of: request)
            try await server.prepareExperiment(tenant: caller.tenant, taskType: input.task_type, agents: input.available_agents)
            let decision: DecisionResult
            do throws(EngineError) {
                decision = try engine.decide(tenant: caller.tenant, experiment: input.task_type, eligible: input.available_agents,
                                             context: input.context, unitID: input.unit_id, scores: true)
            } catch {
                throw APIError.from(error, field: {
                    switch error {
                    case let .invalidRequest(_, field): field
                    case .unknownExperiment, .experimentArchived: "task_type"
                    default: "available_agents"
                    }
                }())
            }
            server.metrics.recordDecision(strategy: decision.strategy)
            return JSONBody.response(writing: PredictResponse(taskType: input.task_type, decision: decision))
        }

        add(.get, "/api/learning/agents/performance", .tenant) { request, _, caller in
            let taskType = try URLDecoding.query("task_type", of: request)
            let experiments = try taskType.map { [try engine.experiment(tenant: caller.tenant, key: $0)] }
                ?? engine.experiments(tenant: caller.tenant)
            var agents: [AgentPerformance] = []
            for experiment in experiments {
                agents += try server.performance(tenant: caller.tenant, experiment: experiment)
            }
            return JSONBody.response(PerformanceResponse(agents: agents))
        }

        add(.get, "/api/learning/models/{model_type}", .tenant) { _, context, caller in
            let modelType = try context.path("model_type")
            var models: [ModelResponse.Lineage] = []
            for experiment in try engine.experiments(tenant: caller.tenant) {
                for strategy in experiment.strategies where strategy.plugin == modelType {
                    let versions = try engine.versions(tenant: caller.tenant, experiment: experiment.key, strategy: strategy.name)
                    let summary = try engine.inspect(tenant: caller.tenant, experiment: experiment.key, strategy: strategy.name)
                    models.append(.init(task_type: experiment.key, strategy: strategy.name, active_version: strategy.activeVersion,
                                        applied_through: strategy.appliedThrough, unavailable: strategy.unavailable,
                                        summary: summary.flatMap(JSONValue.init(parsing:)), versions: versions.map(VersionResponse.init)))
                }
            }
            let plugin = server.catalog.plugin(named: modelType)
            guard plugin != nil || !models.isEmpty else {
                let known = server.catalog.plugins.map(\.name).sorted().joined(separator: ", ")
                throw APIError.notFound("unknown model type '\(modelType)'; the model types are the strategies: \(known)", field: "model_type")
            }
            return JSONBody.response(ModelResponse(model_type: modelType, plugin_version: plugin?.version.description,
                                                   state_format_version: plugin?.stateFormatVersion, models: models))
        }

        add(.post, "/api/learning/models/save", .tenant) { request, _, caller in
            let input = try await SaveRequest.decode(request, server: server)
            let versions: [VersionInfo]
            do throws(EngineError) {
                versions = try await engine.saveVersions(tenant: caller.tenant, experiment: input?.task_type)
            } catch {
                throw APIError.from(error, field: "task_type")
            }
            return JSONBody.response(VersionListResponse(versions: versions.map(VersionResponse.init)))
        }

        add(.get, "/api/learning/status", .tenant) { _, _, _ in
            JSONBody.response(StatusResponse(server))
        }

        add(.get, "/api/learning/metrics", .tenant) { _, _, _ in
            JSONBody.response(LearningMetricsResponse(server))
        }
    }
}

extension ArbiterServer {
    /// Creates the task type's experiment on first use (with the tenant's
    /// default strategy), and adds agents it has not seen as arms.
    func prepareExperiment(tenant: String, taskType: String, agents: [String]) async throws {
        guard !agents.isEmpty else { throw APIError.badRequest("available_agents must name at least one agent", field: "available_agents") }
        guard agents.count <= Engine.Limits.armsPerExperiment else {
            throw APIError.badRequest("available_agents names \(agents.count) agents; at most \(Engine.Limits.armsPerExperiment)", field: "available_agents")
        }
        guard Set(agents).count == agents.count else {
            throw APIError.badRequest("available_agents lists an agent twice", field: "available_agents")
        }
        do throws(EngineError) {
            guard let existing = try? engine.experiment(tenant: tenant, key: taskType) else {
                let defaults = engine.tenant(named: tenant)!
                _ = try await engine.createExperiment(tenant: tenant, ExperimentDefinition(
                    key: taskType, arms: agents,
                    strategies: [StrategySetup(plugin: defaults.defaultStrategy, config: defaults.defaultConfig)]))
                return
            }
            let known = Set(existing.arms)
            let new = agents.filter { !known.contains($0) }
            if !new.isEmpty {
                _ = try await engine.updateExperiment(tenant: tenant, experiment: taskType, ExperimentUpdate(addArms: new))
            }
        } catch {
            if case .experimentExists = error { return }  // created by a concurrent request
            if case .invalidArms = error, (try? engine.experiment(tenant: tenant, key: taskType))
                .map({ Set($0.arms).isSuperset(of: agents) }) == true {
                return  // added by a concurrent request
            }
            throw APIError.from(error, field: {
                switch error {
                case .invalidRequest: "task_type"
                default: "available_agents"
                }
            }())
        }
    }

    /// Per-agent figures of one experiment.
    func performance(tenant: String, experiment: ExperimentInfo) throws -> [AgentPerformance] {
        let arms = try engine.armStatistics(tenant: tenant, experiment: experiment.key)
        let bounded = experiment.strategies.allSatisfy { strategy in
            guard let range = catalog.plugin(named: strategy.plugin)?.rewardRange else { return false }
            return range.lowerBound >= 0 && range.upperBound <= 1
        }
        var parameters: [String: [JSONValue]] = [:]
        for strategy in experiment.strategies {
            if case let .array(armEntries)? = try engine.inspect(tenant: tenant, experiment: experiment.key, strategy: strategy.name)
                .flatMap(JSONValue.init(parsing:))?.objectValue?["arms"] {
                parameters[strategy.name] = armEntries
            }
        }
        return arms.map { arm in
            let stats = arm.stats
            let n = stats.feedbackWeight
            let mean = n > 0 ? stats.rewardSum / n : nil
            return AgentPerformance(
                agent: arm.name, task_type: experiment.key, decisions: stats.decisions, feedback_count: stats.feedbackCount,
                successes: stats.rewardSum, mean_reward: mean,
                interval: mean.map { Interval.of(mean: $0, squares: stats.rewardSquares, weight: n, bounded: bounded) },
                strategies: experiment.strategies.compactMap { strategy in
                    guard let entries = parameters[strategy.name], arm.index < entries.count else { return nil }
                    return .init(strategy: strategy.name, plugin: strategy.plugin, parameters: entries[arm.index])
                },
                last_decision_at: timestamp(stats.lastDecisionAt), last_feedback_at: timestamp(stats.lastFeedbackAt),
                last_update: timestamp([stats.lastDecisionAt, stats.lastFeedbackAt].compactMap { $0 }.max()))
        }
    }

    /// Resident memory of the process, from /proc/self/statm (Linux).
    var residentBytes: Int? {
        guard let data = FileManager.default.contents(atPath: "/proc/self/statm") else { return nil }
        let fields = String(decoding: data, as: UTF8.self).split(separator: " ")
        guard fields.count > 1, let pages = Int(fields[1]) else { return nil }
        return pages * 4_096
    }

    var uptimeSeconds: Double {
        let elapsed = ContinuousClock.now - startedAt
        return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
    }
}

// MARK: Bodies

struct PredictRequest: JSONReadable {
    let task_type: String
    let available_agents: [String]
    let context: [Double]?
    let unit_id: String?

    init(json: JSONValue, path: String) throws(APIError) {
        let fields = try JSONFields(json, path: path, allowed: ["task_type", "available_agents", "context", "unit_id"])
        task_type = try fields.string("task_type")
        available_agents = try fields.strings("available_agents")
        context = try fields.optionalContext("context")
        unit_id = try fields.optionalString("unit_id")
    }
}

struct PredictResponse: JSONWritable {
    struct Alternative {
        let agent: String
        let score: Double?
    }

    let task_type, recommended_agent, decision_id, strategy: String
    /// The probability the strategy had of recommending this agent.
    let confidence, propensity: Double?
    let alternatives: [Alternative]
    let model_version: Int
    let fallback: String?

    init(taskType: String, decision: DecisionResult) {
        task_type = taskType
        recommended_agent = decision.arm
        decision_id = decision.decisionID
        strategy = decision.strategy
        confidence = finite(decision.propensity)
        propensity = finite(decision.propensity)
        alternatives = (decision.scores ?? [])
            .filter { $0.arm != decision.arm }
            .sorted { ($0.score.isNaN ? -.infinity : $0.score) > ($1.score.isNaN ? -.infinity : $1.score) }
            .map { Alternative(agent: $0.arm, score: finite($0.score)) }
        model_version = decision.modelVersion
        fallback = decision.fallback
    }

    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("task_type"); w.string(task_type)
            w.key("recommended_agent"); w.string(recommended_agent)
            w.key("confidence"); w.number(confidence)
            w.key("propensity"); w.number(propensity)
            w.key("alternatives")
            w.array(alternatives) { w, alternative in
                w.object { w in
                    w.key("agent"); w.string(alternative.agent)
                    w.key("score"); w.number(alternative.score)
                }
            }
            w.key("decision_id"); w.string(decision_id)
            w.key("strategy"); w.string(strategy)
            w.key("model_version"); w.integer(model_version)
            if let fallback { w.key("fallback"); w.string(fallback) }
        }
    }
}

struct SaveRequest: JSONReadable {
    let task_type: String?

    init(json: JSONValue, path: String) throws(APIError) {
        task_type = try JSONFields(json, path: path, allowed: ["task_type"]).optionalString("task_type")
    }

    /// The optional body: none at all is fine.
    static func decode(_ request: Request, server: ArbiterServer) async throws -> SaveRequest? {
        guard let length = request.headers[.contentLength].flatMap(Int.init), length > 0 else { return nil }
        return try await server.body(SaveRequest.self, of: request)
    }
}

struct Interval: Encodable {
    let level: Double
    let lower, upper: Double
    let method: String

    /// A 95% interval of the mean reward: Wilson's score interval for rewards
    /// in [0, 1], the normal approximation otherwise.
    static func of(mean: Double, squares: Double, weight n: Double, bounded: Bool) -> Interval {
        let z = 1.959964
        if bounded {
            let p = min(max(mean, 0), 1)
            let denominator = 1 + z * z / n
            let centre = (p + z * z / (2 * n)) / denominator
            let half = z * (p * (1 - p) / n + z * z / (4 * n * n)).squareRoot() / denominator
            return Interval(level: 0.95, lower: max(0, centre - half), upper: min(1, centre + half), method: "wilson")
        }
        let variance = max(0, squares / n - mean * mean)
        let half = z * (variance / n).squareRoot()
        return Interval(level: 0.95, lower: mean - half, upper: mean + half, method: "normal")
    }
}

struct AgentPerformance: Encodable {
    struct StrategyParameters: Encodable {
        let strategy, plugin: String
        let parameters: JSONValue
    }

    let agent, task_type: String
    let decisions, feedback_count: Int
    let successes: Double
    let mean_reward: Double?
    let interval: Interval?
    let strategies: [StrategyParameters]
    let last_decision_at, last_feedback_at, last_update: String?
}

struct PerformanceResponse: Encodable {
    let agents: [AgentPerformance]
}

struct ModelResponse: Encodable {
    struct Lineage: Encodable {
        let task_type, strategy: String
        let active_version: Int
        let applied_through: Int64
        let unavailable: String?
        let summary: JSONValue?
        let versions: [VersionResponse]
    }

    let model_type: String
    let plugin_version: String?
    let state_format_version: UInt32?
    let models: [Lineage]
}

struct StatusResponse: Encodable {
    struct Updater: Encodable {
        let running: Bool
        let queue_depth, decision_log_depth, batches_applied, last_batch_size: Int
        let last_batch_at: String?
        let events_accepted, events_duplicate, events_rejected, decisions_logged, versions_written: Int
    }

    struct Plugins: Encodable {
        struct Loaded: Encodable {
            let name, version, abi_version, language: String
            let faults: Int
        }

        struct Refused: Encodable {
            let file, reason: String
        }

        let loaded: [Loaded]
        let refused: [Refused]
    }

    struct Kafka: Encodable {
        let enabled: Bool
    }

    let status: String
    let uptime_seconds: Double
    let durability: String
    let updater: Updater
    let plugins: Plugins
    let kafka: Kafka

    init(_ server: ArbiterServer) {
        let statistics = server.engine.statistics
        let accepting = server.engine.isAccepting
        status = accepting ? "running" : "shutting_down"
        uptime_seconds = server.uptimeSeconds
        durability = server.configuration.durability.rawValue
        updater = Updater(
            running: accepting, queue_depth: statistics.queuedEvents, decision_log_depth: statistics.queuedDecisions,
            batches_applied: statistics.batches, last_batch_size: statistics.lastBatchSize,
            last_batch_at: timestamp(statistics.lastBatchAt), events_accepted: statistics.accepted,
            events_duplicate: statistics.duplicates, events_rejected: statistics.rejected,
            decisions_logged: statistics.decisionsLogged, versions_written: statistics.versionsWritten)
        plugins = Plugins(
            loaded: server.catalog.plugins.map { .init(name: $0.name, version: $0.version.description, abi_version: $0.abiVersion,
                                                       language: $0.language, faults: $0.faults) },
            refused: server.catalog.refused.map { .init(file: $0.path, reason: $0.reason) })
        kafka = Kafka(enabled: false)
    }
}

struct LearningMetricsResponse: Encodable {
    struct Latency: Encodable {
        let p50, p99, max: Double?
        let window: Int
    }

    struct Throughput: Encodable {
        let events_per_second, decisions_per_second: Double
        let events_accepted, decisions_logged: Int
    }

    struct BatchSizes: Encodable {
        let mean, p50: Double?
        let max: Int?
        let window: Int
    }

    struct Memory: Encodable {
        let rss_bytes: Int?
    }

    let event_processing_latency_ms: Latency
    let throughput: Throughput
    let batch_size: BatchSizes
    let memory: Memory
    let uptime_seconds: Double

    init(_ server: ArbiterServer) {
        let statistics = server.engine.statistics
        let latencies = statistics.recentLatencies
        event_processing_latency_ms = Latency(
            p50: latencies.quantile(0.5).map { $0 * 1000 }, p99: latencies.quantile(0.99).map { $0 * 1000 },
            max: latencies.values.max().map { $0 * 1000 }, window: latencies.values.count)
        let uptime = max(server.uptimeSeconds, 0.001)
        uptime_seconds = uptime
        throughput = Throughput(events_per_second: Double(statistics.accepted) / uptime,
                                decisions_per_second: Double(statistics.decisionsLogged) / uptime,
                                events_accepted: statistics.accepted, decisions_logged: statistics.decisionsLogged)
        let sizes = statistics.recentBatchSizes.values
        batch_size = BatchSizes(mean: sizes.isEmpty ? nil : Double(sizes.reduce(0, +)) / Double(sizes.count),
                                p50: statistics.recentBatchSizes.quantile(0.5).map(Double.init), max: sizes.max(), window: sizes.count)
        memory = Memory(rss_bytes: server.residentBytes)
    }
}
