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
        Case(method: "POST", path: "/v1/experiments/route/decide", body: #"{"eligible_arms": ["zz"]}"#, status: 400, field: "eligible_arms[0]"),
        Case(method: "POST", path: "/v1/experiments/route/decide", body: #"{"eligible_arms": \#(tenThousandArms)}"#, status: 400, field: "eligible_arms"),
        Case(method: "POST", path: "/v1/experiments/route/decide", body: #"{"context": ["x"]}"#, status: 400, field: "context[0]"),
        Case(method: "POST", path: "/v1/experiments/route/decide", body: #"{"unit_id": ""}"#, status: 400, field: "unit_id"),
        Case(method: "POST", path: "/v1/experiments/route/decide", body: #"{"requests": [{"eligible_arms": ["a"]}, {"eligible_arms": ["zz"]}]}"#, status: 400, field: "requests[1].eligible_arms[0]"),
        Case(method: "POST", path: "/v1/experiments/route/decide", body: #"{"requests": [], "scores": true}"#, status: 400, field: "requests"),
        Case(method: "POST", path: "/v1/experiments/nope/decide", body: "{}", status: 404, field: "key"),
        // Experiments.
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": []}"#, status: 400, field: "arms"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["a", "a"]}"#, status: 400, field: "arms[1]"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": \#(tenThousandArms)}"#, status: 400, field: "arms"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x"}"#, status: 400, field: "arms"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "", "arms": ["a"]}"#, status: 400, field: "key"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["a"], "strategy": "nonesuch"}"#, status: 400, field: "strategy"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["a"], "strategy": "epsilon-greedy", "config": {"epsilon": 2}}"#, status: 400, field: "config"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "x", "arms": ["a"], "assignment": "sometimes"}"#, status: 400, field: "assignment"),
        Case(method: "POST", path: "/v1/experiments", body: #"{"key": "route", "arms": ["a"]}"#, status: 409, field: "key"),
        Case(method: "PATCH", path: "/v1/experiments/route", body: #"{"add_arms": ["a"]}"#, status: 400, field: "add_arms[0]"),
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
        Case(method: "PUT", path: "/v1/tenant/default-strategy", body: #"{"plugin": "nonesuch"}"#, status: 400, field: "plugin"),
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
    func snapshot(_ server: TestServer) throws -> [Int] {
        let store = try server.store()
        return [try store.experiments().count, try store.arms().count, try store.strategies().count,
                try store.eventCount(), try store.decisionCount(), try store.tenants().count]
    }
}
