import Assembly
import Foundation
import HTTPServer
import Storage
import Testing
import TestSupport

@Suite("Bad input: a 4xx naming the problem, never a 500, nothing written")
struct BadInputTests {
    struct Case: Sendable, CustomStringConvertible {
        let method: String
        let path: String
        let body: String
        let status: Int
        let field: String?
        var description: String { "\(method) \(path) \(body.prefix(60))" }
    }

    static let tenThousandArms = "[" + (0..<10_000).map { "\"arm\($0)\"" }.joined(separator: ",") + "]"

    static let cases: [Case] = [
        // Malformed JSON, empty bodies, wrong types, missing and unknown fields.
        Case(method: "POST", path: "/v1/feedback", body: "{not json", status: 400, field: nil),
        Case(method: "POST", path: "/v1/feedback", body: "", status: 400, field: nil),
        Case(method: "POST", path: "/v1/feedback", body: "[1, 2]", status: 400, field: nil),
        Case(method: "POST", path: "/v1/feedback", body: #"{"events": {}}"#, status: 400, field: "events"),
        Case(method: "POST", path: "/v1/feedback", body: #"{"evnets": []}"#, status: 400, field: "evnets"),
        Case(method: "POST", path: "/v1/feedback", body: #"{"events": [{"event_id": "e", "decision_id": "1"}]}"#, status: 400, field: "events[0].reward"),
        Case(method: "POST", path: "/v1/feedback", body: #"{"events": [{"event_id": "e", "decision_id": "1", "reward": "NaN"}]}"#, status: 400, field: "events[0].reward"),
        Case(method: "POST", path: "/v1/feedback", body: #"{"events": [{"event_id": "e", "decision_id": "1", "reward": NaN}]}"#, status: 400, field: nil),
        Case(method: "POST", path: "/v1/feedback", body: #"{"events": [{"event_id": "e", "decision_id": "1", "reward": 1e999}]}"#, status: 400, field: nil),
        Case(method: "POST", path: "/v1/feedback", body: #"{"events": [{"event_id": "e", "decision_id": 1, "reward": 1}]}"#, status: 400, field: "events[0].decision_id"),
        Case(method: "POST", path: "/v1/experiments/route/decide", body: #"{"eligible_arms": "a"}"#, status: 400, field: "eligible_arms"),
        Case(method: "POST", path: "/v1/experiments/route/decide", body: #"{"eligible_arms": []}"#, status: 400, field: "eligible_arms"),
        Case(method: "POST", path: "/v1/experiments/route/decide", body: #"{"eligible_arms": ["a", "a"]}"#, status: 400, field: "eligible_arms[1]"),
        Case(method: "POST", path: "/v1/experiments/route/decide", body: #"{"eligible_arms": ["zz"]}"#, status: 409, field: "eligible_arms[0]"),
        Case(method: "POST", path: "/v1/experiments/route/decide", body: #"{"eligible_arms": \#(tenThousandArms)}"#, status: 400, field: "eligible_arms"),
        Case(method: "POST", path: "/v1/experiments/route/decide", body: #"{"context": ["x"]}"#, status: 400, field: "context[0]"),
        Case(method: "POST", path: "/v1/experiments/route/decide", body: #"{"unit_id": ""}"#, status: 400, field: "unit_id"),
        Case(method: "POST", path: "/v1/experiments/route/decide", body: #"{"requests": [{"eligible_arms": ["a"]}, {"eligible_arms": ["zz"]}]}"#, status: 409, field: "requests[1].eligible_arms[0]"),
        Case(method: "POST", path: "/v1/experiments/route/decide", body: #"{"requests": [], "scores": true}"#, status: 400, field: "requests"),
        Case(method: "POST", path: "/v1/experiments/nope/decide", body: "{}", status: 404, field: "key"),
        // Experiments.
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": []}"#, status: 400, field: "arms"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["a", "a"]}"#, status: 400, field: "arms[1]"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": \#(tenThousandArms)}"#, status: 400, field: "arms"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x"}"#, status: 400, field: "arms"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "", "arms": ["a"]}"#, status: 400, field: "key"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["a"], "strategy": "nonesuch"}"#, status: 409, field: "strategy"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["a"], "strategy": "epsilon-greedy", "config": {"epsilon": 2}}"#, status: 409, field: "config"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["a"], "assignment": "sometimes"}"#, status: 400, field: "assignment"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "route", "arms": ["a"]}"#, status: 409, field: "key"),
        Case(method: "PATCH", path: "/v1/experiments/route", body: #"{"add_arms": ["a"]}"#, status: 409, field: "add_arms[0]"),
        Case(method: "PATCH", path: "/v1/experiments/nope", body: #"{"add_arms": ["q"]}"#, status: 404, field: "key"),
        Case(method: "POST", path: "/v1/experiments/route/strategies/thompson/rollback", body: #"{"version": "one"}"#, status: 400, field: "version"),
        Case(method: "POST", path: "/v1/experiments/route/strategies/nope/rollback", body: #"{"version": 1}"#, status: 404, field: "strategy"),
        // The seed's endpoints.
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "t", "available_agents": []}"#, status: 400, field: "available_agents"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "t", "available_agents": ["a", "a"]}"#, status: 400, field: "available_agents[1]"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "t", "available_agents": \#(tenThousandArms)}"#, status: 400, field: "available_agents"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"available_agents": ["a"]}"#, status: 400, field: "task_type"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "", "available_agents": ["a"]}"#, status: 400, field: "task_type"),
        Case(method: "GET", path: "/api/learning/agents/performance?task_type=nope", body: "", status: 404, field: "task_type"),
        Case(method: "POST", path: "/api/learning/models/save", body: #"{"task_type": "nope"}"#, status: 404, field: "task_type"),
        Case(method: "POST", path: "/api/learning/models/save", body: #"{"tasktype": "x"}"#, status: 400, field: "tasktype"),
        Case(method: "PUT", path: "/v1/tenant/default-strategy", body: #"{"plugin": "nonesuch"}"#, status: 409, field: "plugin"),
        // Creating on first use: a new task type with any bad field creates nothing.
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "fresh", "available_agents": ["a"], "unit_id": "\#(String(repeating: "u", count: 300))"}"#, status: 400, field: "unit_id"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "fresh", "available_agents": ["a"], "unit_id": ""}"#, status: 400, field: "unit_id"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "fresh", "available_agents": ["a"], "unit_id": "u\u0007"}"#, status: 400, field: "unit_id"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "fresh", "available_agents": ["a"], "unit_id": null}"#, status: 400, field: "unit_id"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "fresh", "available_agents": ["a"], "unit_id": 7}"#, status: 400, field: "unit_id"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "fresh", "available_agents": ["a"], "context": [\#((0..<1_025).map(String.init).joined(separator: ","))]}"#, status: 400, field: "context"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "fresh", "available_agents": ["a"], "context": [1, "x"]}"#, status: 400, field: "context[1]"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "fresh", "available_agents": ["a"], "context": {"age": true}}"#, status: 400, field: "context.age"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "fresh", "available_agents": ["a"], "context": null}"#, status: 400, field: "context"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "fresh", "available_agents": ["a", ""]}"#, status: 400, field: "available_agents[1]"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "fresh", "available_agents": ["a\u0001"]}"#, status: 400, field: "available_agents[0]"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "fresh", "available_agents": ["a", 2]}"#, status: 400, field: "available_agents[1]"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "\#(String(repeating: "t", count: 201))", "available_agents": ["a"]}"#, status: 400, field: "task_type"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "fresh\n", "available_agents": ["a"]}"#, status: 400, field: "task_type"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": 5, "available_agents": ["a"]}"#, status: 400, field: "task_type"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "fresh", "available_agents": ["a"], "scores": true}"#, status: 400, field: "scores"),
        Case(method: "POST", path: "/api/learning/predict/agent-selection", body: #"{"task_type": "route", "available_agents": ["a", "new\u0002"]}"#, status: 400, field: "available_agents[1]"),
        // Creating experiments: each field of the definition.
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["a"], "strategies": [{"plugin": "thompson", "weight": -1}]}"#, status: 400, field: "strategies[0].weight"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["a"], "strategies": [{"plugin": "thompson", "weight": 0}]}"#, status: 400, field: "strategies"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["a"], "strategies": [{"plugin": "thompson"}, {"plugin": "thompson", "weight": 2}]}"#, status: 400, field: "strategies[1].name"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["a"], "strategies": [{"plugin": "thompson", "name": "t\u0003"}]}"#, status: 400, field: "strategies[0].name"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["a"], "strategies": [{"plugin": "thompson", "config": "x"}]}"#, status: 400, field: "strategies[0].config"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["a"], "strategies": [{"plugin": "ucb", "config": {"variant": "nope"}}]}"#, status: 409, field: "strategies[0].config"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["a"], "strategies": [{"plugin": "nonesuch"}]}"#, status: 409, field: "strategies[0].plugin"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["a"], "strategies": [\#((0..<17).map { #"{"plugin": "thompson", "name": "s\#($0)"}"# }.joined(separator: ","))]}"#, status: 400, field: "strategies"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["a"], "strategies": [{"plugin": "thompson"}], "strategy": "ucb"}"#, status: 400, field: "strategies"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["a"], "config": []}"#, status: 400, field: "config"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["a"], "assignment": null}"#, status: 400, field: "assignment"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x\u007f", "arms": ["a"]}"#, status: 400, field: "key"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["\#(String(repeating: "a", count: 201))"]}"#, status: 400, field: "arms[0]"),
        // Changing experiments.
        Case(method: "PATCH", path: "/v1/experiments/route", body: #"{"status": null}"#, status: 400, field: "status"),
        Case(method: "PATCH", path: "/v1/experiments/route", body: #"{"status": "paused"}"#, status: 400, field: "status"),
        Case(method: "PATCH", path: "/v1/experiments/route", body: #"{"add_arms": ["c", ""]}"#, status: 400, field: "add_arms[1]"),
        Case(method: "PATCH", path: "/v1/experiments/route", body: #"{"add_arms": ["c", "c"]}"#, status: 400, field: "add_arms[1]"),
        Case(method: "PATCH", path: "/v1/experiments/route", body: #"{"add_arms": ["c"], "strategies": [{"name": "thompson", "plugin": "ucb"}]}"#, status: 409, field: "strategies[0].plugin"),
        Case(method: "PATCH", path: "/v1/experiments/route", body: #"{"add_arms": ["c"], "strategies": [{"plugin": "thompson", "weight": 0}]}"#, status: 409, field: "strategies"),
        Case(method: "PATCH", path: "/v1/experiments/route", body: #"{"add_arms": ["c"], "strategies": [{"plugin": "epsilon-greedy", "config": {"epsilon": -1}}]}"#, status: 409, field: "strategies[0].config"),
        Case(method: "PATCH", path: "/v1/experiments/route", body: #"{"add_arms": ["c"], "assignment": "always"}"#, status: 400, field: "assignment"),
        // Rollback, the default strategy, saving.
        Case(method: "POST", path: "/v1/experiments/route/strategies/thompson/rollback", body: #"{"version": 99}"#, status: 404, field: "version"),
        Case(method: "POST", path: "/v1/experiments/route/strategies/thompson/rollback", body: #"{"version": null}"#, status: 400, field: "version"),
        Case(method: "PUT", path: "/v1/tenant/default-strategy", body: #"{"plugin": "epsilon-greedy", "config": {"epsilon": 2}}"#, status: 409, field: "config"),
        Case(method: "PUT", path: "/v1/tenant/default-strategy", body: #"{"plugin": "thompson", "config": [1]}"#, status: 400, field: "config"),
        Case(method: "PUT", path: "/v1/tenant/default-strategy", body: #"{"plugin": "thompson", "config": null}"#, status: 400, field: "config"),
        Case(method: "PUT", path: "/v1/tenant/default-strategy", body: #"{"plugin": ""}"#, status: 400, field: "plugin"),
        Case(method: "POST", path: "/api/learning/models/save", body: #"{"task_type": 5}"#, status: 400, field: "task_type"),
        Case(method: "POST", path: "/api/learning/models/save", body: #"{"task_type": null}"#, status: 400, field: "task_type"),
    ]

    @Test("each bad request is refused with a JSON error naming the field, and nothing is written", arguments: cases)
    func refused(_ badCase: Case) async throws {
        try await TestServer.with { server in
            try await server.createExperiment("route", arms: ["a", "b"])
            let before = try snapshot(server)
            let result = try await server.send(badCase.method, badCase.path, json: badCase.body, key: server.adminKey)
            #expect(result.status == badCase.status, "\(result.text)")
            #expect(result.headers["content-type"]?.hasPrefix("application/json") == true)
            #expect(result.error["status"] as? Int == badCase.status)
            #expect(!(result.error["message"] as? String ?? "").isEmpty)
            if let field = badCase.field {
                #expect(result.error["field"] as? String == field, "\(result.text)")
            }
            try await server.flush()
            #expect(try snapshot(server) == before, "nothing was written")
        }
    }

    /// Runs `body` with a server that has a two-arm experiment "route" and
    /// one decision made on it (logged).
    private static func withServerAndDecision(_ body: @escaping (TestServer, String) async throws -> Void) async throws {
        try await TestServer.with { server in
            try await server.createExperiment("route", arms: ["a", "b"])
            let decision = try await server.post("/v1/experiments/route/decide", "{}", key: server.key).json["decision_id"] as! String
            try await server.flush()
            try await body(server, decision)
        }
    }

    @Test("feedback that is well-formed but wrong: every event refused is a 4xx naming the first bad field, with each event's result; nothing is written")
    func rejectedEvents() async throws {
        try await Self.withServerAndDecision { server, decision in
            let before = try snapshot(server)
            let result = try await server.post("/v1/feedback", #"""
                {"events": [
                  {"event_id": "a", "decision_id": "\#(decision)", "reward": 7},
                  {"event_id": "b", "decision_id": "\#(decision)", "reward": -1},
                  {"event_id": "c", "decision_id": "424242", "reward": 1},
                  {"event_id": "d", "decision_id": "\#(decision)", "reward": 1, "weight": -2},
                  {"event_id": "", "decision_id": "\#(decision)", "reward": 1}
                ]}
                """#, key: server.key)
            #expect(result.status == 400)
            #expect(result.error["field"] as? String == "events[0].reward", "\(result.text)")
            let results = try #require(result.json["results"] as? [[String: Any]])
            #expect(results.map { $0["event_id"] as? String } == ["a", "b", "c", "d", ""])
            #expect(results.allSatisfy { $0["status"] as? String == "rejected" && $0["reason"] is String })
            #expect(try snapshot(server) == before)

            // Only unknown decisions: 404, as for anything the tenant cannot see.
            let unknown = try await server.post("/v1/feedback", #"""
                {"events": [{"event_id": "x", "decision_id": "424242", "reward": 1}, {"event_id": "y", "decision_id": "abc", "reward": 0}]}
                """#, key: server.key)
            #expect(unknown.status == 404)
            #expect(unknown.error["field"] as? String == "events[0].decision_id")
            #expect((unknown.error["message"] as? String)?.contains("none of the 2 events was stored") == true, "\(unknown.text)")
            #expect(try snapshot(server) == before)
        }
    }

    @Test("a batch with one event stored is answered 200, each event with its own outcome")
    func partlyRejected() async throws {
        try await Self.withServerAndDecision { server, decision in
            let body = #"""
                {"events": [{"event_id": "bad", "decision_id": "\#(decision)", "reward": 7},
                            {"event_id": "good", "decision_id": "\#(decision)", "reward": 1}]}
                """#
            let first = try await server.post("/v1/feedback", body, key: server.key)
            #expect(first.status == 200)
            #expect(first.json["error"] == nil)
            let statuses = (first.json["results"] as? [[String: Any]])?.map { $0["status"] as? String }
            #expect(statuses == ["rejected", "accepted"])
            // Sent again: the stored event is a duplicate, which is not a failure either.
            let again = try await server.post("/v1/feedback", body, key: server.key)
            #expect(again.status == 200)
            #expect((again.json["results"] as? [[String: Any]])?.map { $0["status"] as? String } == ["rejected", "duplicate"])
            #expect(try server.store().eventCount() == 1)
        }
    }

    @Test("an oversized body gets 413 (the limit is configurable)")
    func oversized() async throws {
        try await TestServer.with(configure: { $0.http.maxBodyBytes = 4_096 }) { server in
            let events = (0..<200).map { #"{"event_id": "e\#($0)", "decision_id": "1", "reward": 1}"# }.joined(separator: ",")
            let result = try await server.post("/v1/feedback", #"{"events": [\#(events)]}"#, key: server.key)
            #expect(result.status == 413)
            #expect(result.error["code"] as? String == "body_too_large")
            #expect(try server.store().eventCount() == 0)
        }
    }

    /// What the database holds, in counts.
    /// Everything a request could have written: experiments, arms,
    /// strategies with their settings, versions, events, decisions, tenants.
    func snapshot(_ server: TestServer) throws -> String {
        let store = try server.store()
        let experiments = try store.experiments().map { "\($0.key) \($0.status) \($0.assignment)" }
        let arms = try store.arms().map { "\($0.experimentID)/\($0.index)/\($0.name)" }
        let strategies = try store.strategies().map { "\($0.name) \($0.plugin) \($0.config) \($0.weight)" }
        let versions = try store.strategies().map { try store.versions(strategyID: $0.id).count }
        let tenants = try store.tenants().map { "\($0.name) \($0.defaultStrategy) \($0.defaultConfig)" }
        return "\(experiments) \(arms) \(strategies) \(versions) \(try store.eventCount()) \(try store.decisionCount()) \(tenants)"
    }
}
