internal import Engine
internal import FoundationEssentials
internal import Hummingbird

extension RouteRegistrar {
    /// `POST /v1/experiments/{key}/decide` (one decision or a batch) and `POST /v1/feedback`.
    mutating func registerDecisionsAndFeedback() {
        let server = self.server
        let engine = server.engine
        add(.post, "/v1/experiments/{key}/decide", .tenant) { request, context, caller in
            let key = try context.path("key")
            let input = try await server.body(DecideRequest.self, of: request)
            let started = ContinuousClock.now
            defer { server.metrics.decideDuration.recordInterval(since: started) }
            if let batch = input.requests {
                guard !batch.isEmpty, batch.count <= DecideRequest.batchLimit else {
                    throw APIError.badRequest("requests must hold 1 to \(DecideRequest.batchLimit) decision requests", field: "requests")
                }
                // Check every request before deciding any: a bad batch decides nothing.
                for (index, item) in batch.enumerated() {
                    do throws(EngineError) {
                        try engine.checkDecision(tenant: caller.tenant, experiment: key, eligible: item.eligible_arms,
                                                 context: item.context?.values, unitID: item.unit_id)
                    } catch {
                        throw APIError.from(error, field: "requests[\(index)].\(DecideRequest.field(of: error))")
                    }
                }
                var decisions: [DecisionResponse] = []
                for item in batch {
                    let decision = try engine.decide(tenant: caller.tenant, experiment: key, eligible: item.eligible_arms,
                                                     context: item.context?.values, unitID: item.unit_id, scores: item.scores ?? false)
                    server.metrics.recordDecision(strategy: decision.strategy)
                    decisions.append(DecisionResponse(decision))
                }
                return JSONBody.response(DecisionBatchResponse(decisions: decisions))
            }
            do throws(EngineError) {
                let decision = try engine.decide(tenant: caller.tenant, experiment: key, eligible: input.eligible_arms,
                                                 context: input.context?.values, unitID: input.unit_id, scores: input.scores ?? false)
                server.metrics.recordDecision(strategy: decision.strategy)
                return JSONBody.response(DecisionResponse(decision))
            } catch {
                throw APIError.from(error, field: DecideRequest.field(of: error))
            }
        }
        add(.post, "/v1/feedback", .tenant) { request, _, caller in
            let input = try await server.body(FeedbackRequest.self, of: request)
            let started = ContinuousClock.now
            defer { server.metrics.feedbackDuration.recordInterval(since: started) }
            let outcomes = try await engine.recordFeedback(tenant: caller.tenant, input.events.map {
                FeedbackEvent(eventID: $0.event_id, decisionID: $0.decision_id, reward: $0.reward, weight: $0.weight ?? 1)
            })
            server.metrics.recordFeedback(outcomes)
            return JSONBody.response(FeedbackResponse(results: outcomes.map {
                .init(event_id: $0.eventID, status: $0.status.rawValue, reason: $0.reason)
            }))
        }
    }
}

extension Metrics.Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        recordNanoseconds(elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000)
    }
}

import Metrics

struct DecideRequest: Decodable {
    static let batchLimit = 1_000

    let eligible_arms: [String]?
    let context: ContextInput?
    let unit_id: String?
    let scores: Bool?
    let requests: [DecideRequest]?

    enum CodingKeys: String, CodingKey, CaseIterable { case eligible_arms, context, unit_id, scores, requests }

    init(from decoder: any Decoder) throws {
        let container = try decoder.strictContainer(CodingKeys.self)
        eligible_arms = try container.decodeIfPresent([String].self, forKey: .eligible_arms)
        context = try container.decodeIfPresent(ContextInput.self, forKey: .context)
        unit_id = try container.decodeIfPresent(String.self, forKey: .unit_id)
        scores = try container.decodeIfPresent(Bool.self, forKey: .scores)
        requests = try container.decodeIfPresent([DecideRequest].self, forKey: .requests)
        if requests != nil, eligible_arms != nil || context != nil || unit_id != nil || scores != nil {
            throw DecodingError.dataCorrupted(.init(codingPath: [CodingKeys.requests],
                debugDescription: "a batch ('requests') cannot be mixed with the fields of a single decision"))
        }
    }

    /// The request field an engine refusal is about.
    static func field(of error: EngineError) -> String {
        switch error {
        case let .invalidRequest(_, field): field
        case .unknownExperiment, .experimentArchived: "key"
        default: "eligible_arms"
        }
    }
}

struct DecisionResponse: Encodable {
    struct Score: Encodable {
        let arm: String
        let score: Double?
    }

    let decision_id, arm, strategy, plugin, seed: String
    let propensity, traffic_share: Double?
    let model_version: Int
    let applied_through: Int64
    let scores: [Score]?
    let fallback: String?

    init(_ decision: DecisionResult) {
        decision_id = decision.decisionID
        arm = decision.arm
        strategy = decision.strategy
        plugin = decision.plugin
        seed = String(decision.seed)
        propensity = finite(decision.propensity)
        traffic_share = finite(decision.trafficShare)
        model_version = decision.modelVersion
        applied_through = decision.appliedThrough
        scores = decision.scores?.map { Score(arm: $0.arm, score: finite($0.score)) }
        fallback = decision.fallback
    }
}

struct DecisionBatchResponse: Encodable {
    let decisions: [DecisionResponse]
}

struct FeedbackRequest: Decodable {
    struct Event: Decodable {
        let event_id: String
        let decision_id: String
        let reward: Double
        let weight: Double?

        enum CodingKeys: String, CodingKey, CaseIterable { case event_id, decision_id, reward, weight }

        init(from decoder: any Decoder) throws {
            let container = try decoder.strictContainer(CodingKeys.self)
            event_id = try container.decode(String.self, forKey: .event_id)
            decision_id = try container.decode(String.self, forKey: .decision_id)
            reward = try container.decode(Double.self, forKey: .reward)
            weight = try container.decodeIfPresent(Double.self, forKey: .weight)
        }
    }

    let events: [Event]

    enum CodingKeys: String, CodingKey, CaseIterable { case events }

    init(from decoder: any Decoder) throws {
        events = try decoder.strictContainer(CodingKeys.self).decode([Event].self, forKey: .events)
    }
}

struct FeedbackResponse: Encodable {
    struct Result: Encodable {
        let event_id, status: String
        let reason: String?
    }

    let results: [Result]
}
