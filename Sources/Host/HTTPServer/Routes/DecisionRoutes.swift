internal import Engine
internal import Hummingbird
internal import JSON
internal import Metrics
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
                let decisions = try await engine.decide(tenant: caller.tenant, experiment: key, batch: batch)
                for decision in decisions { server.metrics.recordDecision(strategy: decision.strategy) }
                return JSONBody.response(writing: DecisionBatchResponse(decisions: decisions))
            }
            let decision = try await engine.decide(tenant: caller.tenant, experiment: key, input.single)
            server.metrics.recordDecision(strategy: decision.strategy)
            return JSONBody.response(writing: DecisionResponse(decision))
        }
        add(.post, "/v1/feedback", .tenant) { request, _, caller in
            let input = try await server.body(FeedbackRequest.self, of: request)
            if engine.configuration.nodeID > 0 {
                // One of several hosts: what this one learned alone, the others would not.
                throw APIError(.conflict, "scale_out", "this host is node \(engine.configuration.nodeID) of several that learn from Kafka: produce feedback to the feedback topic, where every host learns it (Docs/kafka.md)")
            }
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
        recordNanoseconds((ContinuousClock.now - start).nanoseconds)
    }
}

// MARK: Bodies

struct DecideRequest: JSONReadable {
    let single: DecisionRequest
    /// A batch, when the body is `{"requests": [...]}`.
    let requests: [DecisionRequest]?

    init(json: JSONValue, path: String) throws(APIError) {
        let fields = try JSONFields(json, path: path, allowed: ["eligible_arms", "context", "unit_id", "scores", "requests"])
        single = try Self.decision(fields)
        if let elements = try fields.optionalArray("requests") {
            guard fields.members.count == 1 else {
                throw APIError.badRequest("a batch ('requests') cannot be mixed with the fields of a single decision", field: "requests")
            }
            var requests: [DecisionRequest] = []
            requests.reserveCapacity(elements.count)
            for (index, element) in elements.enumerated() {
                let item = try JSONFields(element, path: "requests[\(index)]", allowed: ["eligible_arms", "context", "unit_id", "scores"])
                requests.append(try Self.decision(item))
            }
            self.requests = requests
        } else {
            requests = nil
        }
    }

    private static func decision(_ fields: JSONFields) throws(APIError) -> DecisionRequest {
        DecisionRequest(eligible: try fields.optionalStrings("eligible_arms"), context: try fields.optionalContext("context"),
                        unitID: try fields.optionalString("unit_id"), scores: try fields.optionalBool("scores") ?? false)
    }
}

struct DecisionResponse: JSONWritable {
    let decision: DecisionResult

    init(_ decision: DecisionResult) {
        self.decision = decision
    }

    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("decision_id"); w.string(decision.decisionID)
            w.key("arm"); w.string(decision.arm)
            w.key("propensity"); w.number(decision.propensity)
            w.key("strategy"); w.string(decision.strategy)
            w.key("plugin"); w.string(decision.plugin)
            w.key("model_version"); w.integer(decision.modelVersion)
            w.key("applied_through"); w.integer(decision.appliedThrough)
            w.key("traffic_share"); w.number(decision.trafficShare)
            w.key("seed"); w.integerString(decision.seed)
            if let scores = decision.scores {
                w.key("scores")
                w.array(scores) { w, score in
                    w.object { w in
                        w.key("arm"); w.string(score.arm)
                        w.key("score"); w.number(score.score)
                    }
                }
            }
            if let fallback = decision.fallback { w.key("fallback"); w.string(fallback) }
        }
    }
}

struct DecisionBatchResponse: JSONWritable {
    let decisions: [DecisionResult]

    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("decisions")
            w.array(decisions) { w, decision in DecisionResponse(decision).write(to: &w) }
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
            if case let .invalid(input) = outcome.rejection {
                return APIError(.badRequest, "invalid_request", message(index), field: InputPath(.events, index, input).rendered())
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
