import Foundation
import Testing
import TestSupport

/// `POST /v1/experiments/{key}/evaluate` over real HTTP, on decisions and
/// feedback the server logged itself.
@Suite("Off-policy evaluation over HTTP")
struct EvaluationEndpointTests {
    /// Logs 300 uniform decisions in ten rounds (epsilon-greedy with epsilon 1: propensity
    /// 1/3 each) with reward 1 for arm "c" only; returns the mean reward.
    func logUniformTraffic(_ server: TestServer) async throws -> Double {
        let created = try await server.post("/v1/experiments",
            #"{"key": "route", "arms": ["a", "b", "c"], "strategy": "epsilon-greedy", "config": {"epsilon": 1}}"#, key: server.adminKey)
        try #require(created.status == 201, "\(created.text)")
        // Ten rounds of 30 decisions, each round's feedback sent before the
        // next round: a candidate replaying the log learns between rounds.
        var rewards = 0.0
        for round in 0..<10 {
            let batch = "{\"requests\": [" + Array(repeating: "{}", count: 30).joined(separator: ",") + "]}"
            let decided = try await server.post("/v1/experiments/route/decide", batch, key: server.adminKey)
            try #require(decided.status == 200, "\(decided.text)")
            let decisions = try #require(decided.json["decisions"] as? [[String: Any]])
            var events: [String] = []
            for (index, decision) in decisions.enumerated() {
                let id = try #require(decision["decision_id"] as? String)
                let reward = decision["arm"] as? String == "c" ? 1 : 0
                rewards += Double(reward)
                events.append(#"{"event_id": "e\#(round)-\#(index)", "decision_id": "\#(id)", "reward": \#(reward)}"#)
            }
            let sent = try await server.post("/v1/feedback", "{\"events\": [\(events.joined(separator: ","))]}", key: server.adminKey)
            try #require(sent.status == 200, "\(sent.text)")
            try await Task.sleep(for: .milliseconds(5))
        }
        return rewards / 300
    }

    /// Evaluates until every logged decision's feedback is stored (the
    /// writer stores it within milliseconds; the loop bounds the wait).
    func evaluate(_ server: TestServer, _ body: String) async throws -> [String: Any] {
        for _ in 0..<100 {
            let answer = try await server.post("/v1/experiments/route/evaluate", body, key: server.adminKey)
            try #require(answer.status == 200, "\(answer.text)")
            if answer.json["decisions_with_feedback"] as? Int == 300 { return answer.json }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestServer.Failure(message: "the feedback was not stored")
    }

    @Test("a candidate that equals the logging policy estimates its logged mean exactly; every figure is there")
    func evaluatesLoggedTraffic() async throws {
        try await TestServer.with { server in
            let mean = try await logUniformTraffic(server)
            let report = try await evaluate(server, #"""
                {"candidates": [{"label": "uniform", "plugin": "epsilon-greedy", "config": {"epsilon": 1}},
                                {"plugin": "ucb"}, {"plugin": "thompson"}]}
                """#)
            #expect(report["decisions"] as? Int == 300)
            #expect(report["feedback_events"] as? Int == 300)
            let logged = try #require(report["logged"] as? [String: Any])
            #expect(abs((logged["value"] as? Double ?? -1) - mean) < 1e-12)
            let candidates = try #require(report["candidates"] as? [[String: Any]])
            #expect(candidates.map { $0["label"] as? String } == ["uniform", "ucb", "thompson"])
            // Uniform over uniform: every weight is (1/3)/(1/3) = 1.
            let uniform = candidates[0]
            for estimator in ["ips", "snips"] {
                let estimate = try #require(uniform[estimator] as? [String: Any])
                #expect(abs((estimate["value"] as? Double ?? -1) - mean) < 1e-12, "\(estimator)")
            }
            #expect(abs((uniform["effective_sample_size"] as? Double ?? 0) - 300) < 1e-9)
            #expect(uniform["max_weight"] as? Double == 1)
            // UCB learns that c pays and then chooses it: its estimate is far above the uniform mean.
            let ucb = try #require(candidates[1]["snips"] as? [String: Any])
            #expect((ucb["value"] as? Double ?? 0) > mean + 0.3)
            #expect(candidates.allSatisfy { $0["failure"] is NSNull })

            // The command reads the experiment's log from the database while the server runs.
            let command = try await Command.outcome(TestPaths.buildDirectory + "/arbiter", [
                "evaluate", "--data-dir", server.directory.path, "--tenant", "acme", "--experiment", "route",
                "--plugin-dir", TestPaths.buildDirectory, "--candidate", "epsilon-greedy:epsilon=1", "--format", "json"])
            #expect(command.status == 0, "\(command.error)")
            let printed = try #require(try JSONSerialization.jsonObject(with: Data(command.output.utf8)) as? [String: Any])
            let first = try #require((printed["candidates"] as? [[String: Any]])?.first)
            #expect(first["label"] as? String == "epsilon-greedy:epsilon=1")
            #expect(abs(((first["ips"] as? [String: Any])?["value"] as? Double ?? -1) - mean) < 1e-12)
        }
    }

    @Test("bad requests are refused naming the field, and nothing else happens")
    func badRequests() async throws {
        try await TestServer.with { server in
            try await server.createExperiment("route")
            let cases: [(String, Int, String)] = [
                (#"{}"#, 400, "candidates"),
                (#"{"candidates": []}"#, 400, "candidates"),
                (#"{"candidates": [{"plugin": "nonesuch"}]}"#, 409, "candidates[0].plugin"),
                (#"{"candidates": [{"plugin": "thompson", "config": {"prior_alpha": -1}}]}"#, 400, "candidates[0].config"),
                (#"{"candidates": [{"plugin": "thompson"}, {"plugin": "thompson"}]}"#, 400, "candidates[1].label"),
                (#"{"candidates": [{"plugin": "thompson", "colour": 1}]}"#, 400, "candidates[0].colour"),
                (#"{"candidates": [{"plugin": "thompson"}], "since": "yesterday"}"#, 400, "since"),
                (#"{"candidates": [{"plugin": "thompson"}], "missing_reward": "none"}"#, 400, "missing_reward"),
            ]
            for (body, status, field) in cases {
                let answer = try await server.post("/v1/experiments/route/evaluate", body, key: server.adminKey)
                #expect(answer.status == status, "\(body): \(answer.text)")
                #expect((answer.json["error"] as? [String: Any])?["field"] as? String == field, "\(body): \(answer.text)")
            }
            let unknown = try await server.post("/v1/experiments/nonesuch/evaluate", #"{"candidates": [{"plugin": "ucb"}]}"#, key: server.adminKey)
            #expect(unknown.status == 404)
            // An empty window is an answer, not an error.
            let empty = try await server.post("/v1/experiments/route/evaluate",
                #"{"candidates": [{"plugin": "ucb"}], "since": "2030-01-01T00:00:00Z", "until": "2020-01-01T00:00:00+02:00"}"#, key: server.adminKey)
            #expect(empty.status == 200, "\(empty.text)")
            #expect(empty.json["decisions"] as? Int == 0)
        }
    }
}
