internal import Engine
internal import Evaluation
internal import Hummingbird
internal import JSON

extension RouteRegistrar {
    /// The A/B report of an experiment, and off-policy evaluation of
    /// candidate strategies on its log.
    mutating func registerEvaluation() {
        let server = self.server
        let engine = server.engine
        add(.get, "/v1/experiments/{key}/report", .tenant) { request, context, caller in
            let control = try URLDecoding.query("control", of: request)
            let report = try await engine.report(tenant: caller.tenant, experiment: try context.path("key"), control: control)
            return JSONBody.response(writing: report)
        }
        add(.post, "/v1/experiments/{key}/evaluate", .tenant) { request, context, caller in
            let key = try context.path("key")
            let input = try await server.body(EvaluateRequest.self, of: request)
            let report = try await engine.evaluate(tenant: caller.tenant, experiment: key, candidates: input.candidates, window: input.window)
            return JSONBody.response(writing: report)
        }
    }
}

struct EvaluateRequest: JSONReadable {
    let candidates: [CandidateSpec]
    let window: EvaluationWindow

    init(json: JSONValue, path: String) throws(APIError) {
        let fields = try JSONFields(json, path: path, allowed: ["candidates", "since", "until", "missing_reward"])
        var candidates: [CandidateSpec] = []
        for (index, element) in try fields.array("candidates").enumerated() {
            let member = try JSONFields(element, path: "\(fields.field("candidates"))[\(index)]", allowed: ["label", "plugin", "config"])
            let plugin = try member.string("plugin")
            candidates.append(CandidateSpec(label: try member.optionalString("label") ?? plugin, plugin: plugin,
                                            config: try member.optionalObject("config")?.text ?? "{}"))
        }
        self.candidates = candidates
        window = EvaluationWindow(since: try Self.time(fields, "since"), until: try Self.time(fields, "until"),
                                  missingReward: try fields.optionalNumber("missing_reward"))
    }

    /// An RFC 3339 date-time member (`2026-12-04T10:00:00Z`, fractional
    /// seconds and an offset allowed), in milliseconds since the epoch.
    static func time(_ fields: JSONFields, _ key: String) throws(APIError) -> Int64? {
        guard let text = try fields.optionalString(key) else { return nil }
        guard let milliseconds = RFC3339.milliseconds(text) else {
            throw APIError.badRequest("'\(fields.field(key))' must be an RFC 3339 date-time such as 2026-12-04T10:00:00Z, not '\(text)'",
                                      field: fields.field(key))
        }
        return milliseconds
    }
}
