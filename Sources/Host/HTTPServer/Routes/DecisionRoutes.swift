internal import Engine
internal import FoundationEssentials
internal import Hummingbird
internal import PluginHost

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
                                                 context: item.context, unitID: item.unit_id)
                    } catch {
                        throw APIError.from(error, field: "requests[\(index)].\(DecideRequest.field(of: error))")
                    }
                }
                var decisions: [DecisionResponse] = []
                for item in batch {
                    let decision = try engine.decide(tenant: caller.tenant, experiment: key, eligible: item.eligible_arms,
                                                     context: item.context, unitID: item.unit_id, scores: item.scores ?? false)
                    server.metrics.recordDecision(strategy: decision.strategy)
                    decisions.append(DecisionResponse(decision))
                }
                return JSONBody.response(writing: DecisionBatchResponse(decisions: decisions))
            }
            do throws(EngineError) {
                let decision = try engine.decide(tenant: caller.tenant, experiment: key, eligible: input.eligible_arms,
                                                 context: input.context, unitID: input.unit_id, scores: input.scores ?? false)
                server.metrics.recordDecision(strategy: decision.strategy)
                return JSONBody.response(writing: DecisionResponse(decision))
            } catch {
                throw APIError.from(error, field: DecideRequest.field(of: error))
            }
        }
        add(.post, "/v1/feedback", .tenant) { request, _, caller in
            let input = try await server.body(FeedbackRequest.self, of: request)
            let started = ContinuousClock.now
            defer { server.metrics.feedbackDuration.recordInterval(since: started) }
            let outcomes = try await engine.recordFeedback(tenant: caller.tenant, input.events)
            server.metrics.recordFeedback(outcomes)
            if let refusal = FeedbackResponse.refusal(of: outcomes) {
                return JSONBody.response(writing: FeedbackResponse(results: outcomes, error: refusal), status: refusal.status)
            }
            return JSONBody.response(writing: FeedbackResponse(results: outcomes))
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

struct DecideRequest: JSONReadable {
    static let batchLimit = 1_000

    let eligible_arms: [String]?
    let context: [Double]?
    let unit_id: String?
    let scores: Bool?
    let requests: [DecideRequest]?

    init(json: JSONValue, path: String) throws(APIError) {
        let fields = try JSONFields(json, path: path, allowed: ["eligible_arms", "context", "unit_id", "scores", "requests"])
        eligible_arms = try fields.optionalStrings("eligible_arms")
        context = try fields.optionalContext("context")
        unit_id = try fields.optionalString("unit_id")
        scores = try fields.optionalBool("scores")
        if let elements = try fields.optionalArray("requests") {
            guard path.isEmpty else { throw APIError.badRequest("batches cannot be nested", field: fields.field("requests")) }
            var requests: [DecideRequest] = []
            requests.reserveCapacity(elements.count)
            for (index, element) in elements.enumerated() {
                requests.append(try DecideRequest(json: element, path: "requests[\(index)]"))
            }
            self.requests = requests
        } else {
            requests = nil
        }
        if requests != nil, eligible_arms != nil || context != nil || unit_id != nil || scores != nil {
            throw APIError.badRequest("a batch ('requests') cannot be mixed with the fields of a single decision", field: "requests")
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

struct DecisionResponse: JSONWritable {
    struct Score {
        let arm: String
        let score: Double?
    }

    let decision_id, arm, strategy, plugin: String
    let seed: UInt64
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
        seed = decision.seed
        propensity = finite(decision.propensity)
        traffic_share = finite(decision.trafficShare)
        model_version = decision.modelVersion
        applied_through = decision.appliedThrough
        scores = decision.scores?.map { Score(arm: $0.arm, score: finite($0.score)) }
        fallback = decision.fallback
    }

    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("decision_id"); w.string(decision_id)
            w.key("arm"); w.string(arm)
            w.key("propensity"); w.number(propensity)
            w.key("strategy"); w.string(strategy)
            w.key("plugin"); w.string(plugin)
            w.key("model_version"); w.integer(model_version)
            w.key("applied_through"); w.integer(applied_through)
            w.key("traffic_share"); w.number(traffic_share)
            w.key("seed"); w.integerString(seed)
            if let scores {
                w.key("scores")
                w.array(scores) { w, score in
                    w.object { w in
                        w.key("arm"); w.string(score.arm)
                        w.key("score"); w.number(score.score)
                    }
                }
            }
            if let fallback { w.key("fallback"); w.string(fallback) }
        }
    }
}

struct DecisionBatchResponse: JSONWritable {
    let decisions: [DecisionResponse]

    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("decisions")
            w.array(decisions) { w, decision in decision.write(to: &w) }
        }
    }
}

struct FeedbackRequest: JSONReadable {
    let events: [FeedbackEvent]

    init(events: [FeedbackEvent]) {
        self.events = events
    }

    init(json: JSONValue, path: String) throws(APIError) {
        let elements = try JSONFields(json, path: path, allowed: ["events"]).array("events")
        var events: [FeedbackEvent] = []
        events.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            let fields = try JSONFields(element, path: "events[\(index)]", allowed: ["event_id", "decision_id", "reward", "weight"])
            events.append(FeedbackEvent(eventID: try fields.string("event_id"), decisionID: try fields.string("decision_id"),
                                        reward: try fields.number("reward"), weight: try fields.optionalNumber("weight") ?? 1))
        }
        self.events = events
    }

    /// `{"events": [...]}` with every event's members present once and of the
    /// right type, read without a JSON tree (the route's usual body, up to
    /// thousands of events).
    static func read(common bytes: UnsafeBufferPointer<UInt8>) -> FeedbackRequest? {
        var reader = EventReader()
        reader.events.reserveCapacity(bytes.count / 64)
        guard JSONParser.readFlatObjects(bytes, field: "events", keys: ["event_id", "decision_id", "reward", "weight"], into: &reader)
        else { return nil }
        return FeedbackRequest(events: reader.events)
    }

    private struct EventReader: FlatObjectReader {
        var events: [FeedbackEvent] = []
        var eventID: String?
        var decisionID: String?
        var reward: Double?
        var weight: Double?

        mutating func member(_ key: Int, _ value: FlatValue) -> Bool {
            switch (key, value) {
            case let (0, .string(text)): eventID = text
            case let (1, .string(text)): decisionID = text
            case let (2, .number(number)): reward = number
            case let (3, .number(number)): weight = number
            default: return false
            }
            return true
        }

        mutating func endObject() -> Bool {
            guard let eventID, let decisionID, let reward else { return false }
            events.append(FeedbackEvent(eventID: eventID, decisionID: decisionID, reward: reward, weight: weight ?? 1))
            self.eventID = nil
            self.decisionID = nil
            self.reward = nil
            weight = nil
            return true
        }
    }
}

struct FeedbackResponse: JSONWritable {
    let results: [FeedbackOutcome]
    /// Set when no event was stored: the request as a whole failed.
    var error: APIError?

    /// The error for a request none of whose events was stored (a batch with
    /// at least one event stored, or already stored, is answered 200). The
    /// first event refused for its own content names the field (400); else
    /// one whose strategy cannot learn (409); else every decision id was
    /// unknown to the tenant (404, as for an experiment it cannot see).
    static func refusal(of outcomes: [FeedbackOutcome]) -> APIError? {
        guard !outcomes.isEmpty, outcomes.allSatisfy({ $0.status == .rejected }) else { return nil }
        func message(_ index: Int) -> String {
            let reason = outcomes[index].reason ?? "refused"
            return outcomes.count == 1
                ? "the event was not stored: \(reason)"
                : "none of the \(outcomes.count) events was stored (see results); events[\(index)]: \(reason)"
        }
        for (index, outcome) in outcomes.enumerated() {
            if case let .invalid(field) = outcome.rejection {
                return APIError(.badRequest, "invalid_request", message(index), field: "events[\(index)].\(field)")
            }
        }
        if let index = outcomes.firstIndex(where: { $0.rejection == .strategyUnavailable }) {
            return APIError(.conflict, "strategy_unavailable", message(index), field: "events[\(index)].decision_id")
        }
        return APIError.notFound(message(0), field: "events[0].decision_id")
    }

    func write(to writer: inout JSONWriter) {
        writer.object { w in
            if let error {
                w.key("error")
                error.write(to: &w)
            }
            w.key("results")
            w.array(results) { w, result in
                w.object { w in
                    w.key("event_id"); w.string(result.eventID)
                    w.key("status"); w.string(result.status.rawValue)
                    if let reason = result.reason { w.key("reason"); w.string(reason) }
                }
            }
        }
    }
}
