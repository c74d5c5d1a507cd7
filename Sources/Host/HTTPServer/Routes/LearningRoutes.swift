internal import Access
internal import Engine
internal import Hummingbird
internal import JSON
internal import PluginHost
internal import Storage

extension RouteRegistrar {
    /// The seed's endpoints, at the seed's paths, so its clients keep working.
    mutating func registerLearningAPI() {
        let server = self.server
        let engine = server.engine
        // The seed names an experiment's key `task_type` and its arms `available_agents`.
        let seedNames = FieldNames.renaming([.key: "task_type", .arms: "available_agents", .eligibleArms: "available_agents"])

        add(.post, "/api/learning/predict/agent-selection", .tenant, names: seedNames) { request, _, caller in
            let input = try await server.body(PredictRequest.self, of: request)
            let decision = try await engine.decideCreatingOnFirstUse(
                tenant: caller.tenant, experiment: input.taskType, arms: input.agents,
                DecisionRequest(context: input.context, unitID: input.unitID, scores: true), actor: caller.principal?.keyID)
            server.metrics.recordDecision(strategy: decision.strategy)
            return JSONBody.response(writing: PredictResponse(taskType: input.taskType, decision: decision))
        }

        add(.get, "/api/learning/agents/performance", .tenant, names: seedNames) { request, _, caller in
            if let key = try URLDecoding.query("task_type", of: request) {
                return JSONBody.response(writing: PerformanceResponse(agents: try engine.performance(tenant: caller.tenant, experiment: key), next: nil))
            }
            // Every task type, a page of them (each with all its agents) at a time.
            let page = try URLDecoding.page(of: request)
            let agents = try engine.performance(tenant: caller.tenant, after: page.cursor, limit: page.limit)
            return JSONBody.response(writing: PerformanceResponse(agents: agents.items, next: agents.next))
        }

        add(.get, "/api/learning/models/{model_type}", .tenant) { request, context, caller in
            let modelType = try context.path("model_type")
            let page = try URLDecoding.page(of: request)
            let models = try engine.models(tenant: caller.tenant, plugin: modelType, after: page.cursor, limit: page.limit)
            let plugin = engine.catalog.plugin(named: modelType)
            guard plugin != nil || !models.items.isEmpty else {
                let known = engine.catalog.plugins.map(\.name).sorted().joined(separator: ", ")
                throw APIError.notFound("unknown model type '\(modelType)'; the model types are the strategies: \(known)", field: "model_type")
            }
            return JSONBody.response(writing: ModelResponse(modelType: modelType, plugin: plugin, models: models))
        }

        add(.post, "/api/learning/models/save", .tenant, names: seedNames) { request, _, caller in
            let input = try await server.optionalBody(SaveRequest.self, of: request)
            let versions = try await engine.saveVersions(tenant: caller.tenant, experiment: input?.taskType)
            return JSONBody.response(writing: VersionListResponse(written: versions))
        }

        add(.get, "/api/learning/status", .tenant) { _, _, _ in
            JSONBody.response(writing: StatusResponse(server))
        }

        add(.get, "/api/learning/metrics", .tenant) { _, _, _ in
            JSONBody.response(writing: LearningMetricsResponse(server))
        }
    }
}

// MARK: Bodies

struct PredictRequest: JSONReadable {
    let taskType: String
    let agents: [String]
    let context: [Double]?
    let unitID: String?

    init(json: JSONValue, path: String) throws(APIError) {
        let fields = try JSONFields(json, path: path, allowed: ["task_type", "available_agents", "context", "unit_id"])
        taskType = try fields.string("task_type")
        agents = try fields.strings("available_agents")
        context = try fields.optionalContext("context")
        unitID = try fields.optionalString("unit_id")
    }
}

struct PredictResponse: JSONWritable {
    let taskType: String
    let decision: DecisionResult

    func write(to writer: inout JSONWriter) {
        // The other agents, best score first.
        let alternatives = (decision.scores ?? [])
            .filter { $0.arm != decision.arm }
            .sorted { ($0.score.isNaN ? -.infinity : $0.score) > ($1.score.isNaN ? -.infinity : $1.score) }
        writer.object { w in
            w.key("task_type"); w.string(taskType)
            w.key("recommended_agent"); w.string(decision.arm)
            // The probability the strategy had of recommending this agent.
            w.key("confidence"); w.number(decision.propensity)
            w.key("propensity"); w.number(decision.propensity)
            w.key("alternatives")
            w.array(alternatives) { w, alternative in
                w.object { w in
                    w.key("agent"); w.string(alternative.arm)
                    w.key("score"); w.number(alternative.score)
                }
            }
            w.key("decision_id"); w.string(decision.decisionID)
            w.key("strategy"); w.string(decision.strategy)
            w.key("model_version"); w.integer(decision.modelVersion)
            if let fallback = decision.fallback { w.key("fallback"); w.string(fallback) }
        }
    }
}

struct SaveRequest: JSONReadable {
    let taskType: String?

    init(json: JSONValue, path: String) throws(APIError) {
        taskType = try JSONFields(json, path: path, allowed: ["task_type"]).optionalString("task_type")
    }
}

struct PerformanceResponse: JSONWritable {
    let agents: [ArmPerformance]
    /// The next page's cursor when every task type is listed.
    let next: String?

    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("agents")
            w.array(agents) { w, arm in
                w.object { w in
                    w.key("agent"); w.string(arm.arm)
                    w.key("task_type"); w.string(arm.experiment)
                    w.key("decisions"); w.integer(arm.decisions)
                    w.key("feedback_count"); w.integer(arm.feedbackCount)
                    w.key("successes"); w.number(arm.rewardSum)
                    w.key("mean_reward"); w.number(arm.meanReward)
                    w.key("interval")
                    if let interval = arm.interval {
                        w.object { w in
                            w.key("level"); w.number(interval.level)
                            w.key("lower"); w.number(interval.lower)
                            w.key("upper"); w.number(interval.upper)
                            w.key("method"); w.string(interval.method.rawValue)
                        }
                    } else {
                        w.null()
                    }
                    w.key("strategies")
                    w.array(arm.strategies) { w, strategy in
                        w.object { w in
                            w.key("strategy"); w.string(strategy.strategy)
                            w.key("plugin"); w.string(strategy.plugin)
                            w.key("parameters"); w.value(strategy.parameters)
                        }
                    }
                    w.key("last_decision_at"); w.timestamp(arm.lastDecisionAt)
                    w.key("last_feedback_at"); w.timestamp(arm.lastFeedbackAt)
                    w.key("last_update"); w.timestamp([arm.lastDecisionAt, arm.lastFeedbackAt].compactMap { $0 }.max())
                }
            }
            w.key("next"); w.string(next)
        }
    }
}

struct ModelResponse: JSONWritable {
    let modelType: String
    let plugin: StrategyPlugin?
    let models: Page<ModelSummary>

    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("model_type"); w.string(modelType)
            w.key("plugin_version"); w.string(plugin?.version.description)
            w.key("state_format_version"); w.integer(plugin?.stateFormatVersion)
            w.key("models")
            w.array(models.items) { w, model in
                w.object { w in
                    w.key("task_type"); w.string(model.experiment)
                    w.key("strategy"); w.string(model.strategy)
                    w.key("active_version"); w.integer(model.activeVersion)
                    w.key("applied_through"); w.integer(model.appliedThrough)
                    if let unavailable = model.unavailable { w.key("unavailable"); w.string(unavailable) }
                    w.key("summary"); w.value(model.summary)
                    w.key("versions")
                    w.array(model.versions) { w, version in VersionResponse(version).write(to: &w) }
                }
            }
            w.key("next"); w.string(models.next)
        }
    }
}

struct StatusResponse: JSONWritable {
    let server: APIServer

    init(_ server: APIServer) {
        self.server = server
    }

    func write(to writer: inout JSONWriter) {
        let engine = server.engine
        let statistics = engine.statistics
        let accepting = engine.isAccepting
        writer.object { w in
            w.key("status"); w.string(accepting ? "running" : "shutting_down")
            w.key("uptime_seconds"); w.number(server.uptimeSeconds)
            w.key("durability"); w.string(engine.configuration.durability.rawValue)
            w.key("updater")
            w.object { w in
                w.key("running"); w.bool(accepting)
                w.key("queue_depth"); w.integer(statistics.queuedEvents)
                w.key("decision_log_depth"); w.integer(statistics.queuedDecisions)
                w.key("batches_applied"); w.integer(statistics.batches)
                w.key("last_batch_size"); w.integer(statistics.lastBatchSize)
                w.key("last_batch_at"); w.timestamp(statistics.lastBatchAt)
                w.key("events_accepted"); w.integer(statistics.accepted)
                w.key("events_duplicate"); w.integer(statistics.duplicates)
                w.key("events_rejected"); w.integer(statistics.rejected)
                w.key("decisions_logged"); w.integer(statistics.decisionsLogged)
                w.key("versions_written"); w.integer(statistics.versionsWritten)
            }
            w.key("plugins")
            w.object { w in
                w.key("loaded")
                w.array(engine.catalog.plugins) { w, plugin in
                    w.object { w in
                        w.key("name"); w.string(plugin.name)
                        w.key("version"); w.string(plugin.version.description)
                        w.key("abi_version"); w.string(plugin.abiVersion)
                        w.key("language"); w.string(plugin.language)
                        w.key("faults"); w.integer(plugin.faults)
                    }
                }
                w.key("refused")
                w.array(engine.catalog.refused) { w, refusal in
                    w.object { w in
                        w.key("file"); w.string(refusal.path)
                        w.key("reason"); w.string(refusal.reason)
                    }
                }
            }
            let experiments = engine.experimentCounts
            w.key("experiments")
            w.object { w in
                w.key("known"); w.integer(experiments.known)
                w.key("in_memory"); w.integer(experiments.inMemory)
                w.key("memory_estimate_bytes"); w.integer(experiments.estimatedBytes)
            }
            w.key("kafka")
            if let kafka = server.kafkaStatus {
                w.value(kafka())
            } else {
                w.object { w in
                    w.key("enabled"); w.bool(false)
                }
            }
        }
    }
}

struct LearningMetricsResponse: JSONWritable {
    let server: APIServer

    init(_ server: APIServer) {
        self.server = server
    }

    func write(to writer: inout JSONWriter) {
        let statistics = server.engine.statistics
        let latencies = statistics.recentLatencies
        let uptime = max(server.uptimeSeconds, 0.001)
        let sizes = statistics.recentBatchSizes.values
        writer.object { w in
            w.key("event_processing_latency_ms")
            w.object { w in
                w.key("p50"); w.number(latencies.quantile(0.5).map { $0 * 1000 })
                w.key("p99"); w.number(latencies.quantile(0.99).map { $0 * 1000 })
                w.key("max"); w.number(latencies.values.max().map { $0 * 1000 })
                w.key("window"); w.integer(latencies.values.count)
            }
            w.key("throughput")
            w.object { w in
                w.key("events_per_second"); w.number(Double(statistics.accepted) / uptime)
                w.key("decisions_per_second"); w.number(Double(statistics.decisionsLogged) / uptime)
                w.key("events_accepted"); w.integer(statistics.accepted)
                w.key("decisions_logged"); w.integer(statistics.decisionsLogged)
            }
            w.key("batch_size")
            w.object { w in
                w.key("mean"); w.number(sizes.isEmpty ? nil : Double(sizes.reduce(0, +)) / Double(sizes.count))
                w.key("p50"); w.number(statistics.recentBatchSizes.quantile(0.5).map(Double.init))
                w.key("max"); w.integer(sizes.max())
                w.key("window"); w.integer(sizes.count)
            }
            w.key("memory")
            w.object { w in
                w.key("rss_bytes"); w.integer(ProcessMemory.residentBytes)
            }
            w.key("uptime_seconds"); w.number(uptime)
        }
    }
}
