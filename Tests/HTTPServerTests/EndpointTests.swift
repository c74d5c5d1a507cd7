import Foundation
import HTTPServer
import Storage
import Testing
import TestSupport

@Suite("The endpoints, over real HTTP")
struct EndpointTests {
    @Test("predict-agent-selection creates the task type on first use and learns new agents")
    func predict() async throws {
        try await TestServer.with { server in
            let body = #"{"task_type": "summarize", "available_agents": ["gpt", "claude", "llama"], "context": {"length": 120}}"#
            let first = try await server.post("/api/learning/predict/agent-selection", body, key: server.key)
            #expect(first.status == 200)
            let prediction = first.json
            let recommended = try #require(prediction["recommended_agent"] as? String)
            #expect(["gpt", "claude", "llama"].contains(recommended))
            #expect(prediction["task_type"] as? String == "summarize")
            #expect(prediction["strategy"] as? String == "thompson")
            #expect(prediction["decision_id"] is String)
            #expect((prediction["confidence"] as? Double).map { $0 > 0 && $0 <= 1 } == true)
            let alternatives = try #require(prediction["alternatives"] as? [[String: Any]])
            #expect(alternatives.count == 2)
            #expect(!alternatives.contains { $0["agent"] as? String == recommended })
            let scores = alternatives.compactMap { $0["score"] as? Double }
            #expect(scores == scores.sorted(by: >), "ranked by score")

            let more = try await server.post("/api/learning/predict/agent-selection",
                                             #"{"task_type": "summarize", "available_agents": ["mistral", "gpt"]}"#, key: server.key)
            #expect(more.status == 200)
            let experiment = try await server.get("/v1/experiments/summarize", key: server.key).json
            #expect(experiment["arms"] as? [String] == ["gpt", "claude", "llama", "mistral"])
        }
    }

    @Test("decide (one and a batch), feedback, and what the learning endpoints report")
    func learningLoop() async throws {
        try await TestServer.with { server in
            try await server.createExperiment("route", arms: ["a", "b"])
            let single = try await server.post("/v1/experiments/route/decide", #"{"eligible_arms": ["a", "b"], "scores": true, "unit_id": "u1"}"#, key: server.key)
            #expect(single.status == 200)
            let decision = single.json
            #expect(["a", "b"].contains(decision["arm"] as? String ?? ""))
            #expect((decision["scores"] as? [[String: Any]])?.count == 2)
            #expect(decision["seed"] is String)
            #expect(decision["model_version"] as? Int == 0)

            let batch = try await server.post("/v1/experiments/route/decide",
                                              #"{"requests": [{"eligible_arms": ["a"]}, {}, {"context": [1, 2]}]}"#, key: server.key)
            #expect(batch.status == 200)
            let decisions = try #require(batch.json["decisions"] as? [[String: Any]])
            #expect(decisions.count == 3)
            #expect(decisions[0]["arm"] as? String == "a")

            let ids = ([decision] + decisions).compactMap { $0["decision_id"] as? String }
            let events = ids.enumerated().map { #"{"event_id": "ev\#($0.offset)", "decision_id": "\#($0.element)", "reward": 1}"# }
            let feedback = try await server.post("/v1/feedback", #"{"events": [\#(events.joined(separator: ","))]}"#, key: server.key)
            #expect(feedback.status == 200)
            let results = try #require(feedback.json["results"] as? [[String: Any]])
            #expect(results.map { $0["status"] as? String } == Array(repeating: "accepted", count: 4))
            #expect(results.map { $0["event_id"] as? String } == ["ev0", "ev1", "ev2", "ev3"])
            let retried = try await server.post("/v1/feedback", #"{"events": [\#(events[0])]}"#, key: server.key)
            #expect((retried.json["results"] as? [[String: Any]])?.first?["status"] as? String == "duplicate")

            let performance = try await server.get("/api/learning/agents/performance?task_type=route", key: server.key)
            #expect(performance.status == 200)
            let agents = try #require(performance.json["agents"] as? [[String: Any]])
            #expect(agents.map { $0["agent"] as? String } == ["a", "b"])
            #expect(agents.map { $0["decisions"] as? Int ?? 0 }.reduce(0, +) == 4)
            #expect(agents.map { $0["feedback_count"] as? Int ?? 0 }.reduce(0, +) == 4)
            let a = agents[0]
            #expect(a["mean_reward"] as? Double == 1)
            let interval = try #require(a["interval"] as? [String: Any])
            #expect(interval["method"] as? String == "wilson")
            #expect((interval["lower"] as? Double ?? 2) < 1 && (interval["upper"] as? Double) == 1)
            let parameters = try #require((a["strategies"] as? [[String: Any]])?.first?["parameters"] as? [String: Any])
            #expect(parameters["alpha"] is Double, "the Beta posterior of the arm")

            let saved = try await server.post("/api/learning/models/save", "", key: server.key)
            #expect(saved.status == 200)
            let versions = try #require(saved.json["versions"] as? [[String: Any]])
            #expect(versions.count == 1)
            #expect(versions[0]["reason"] as? String == "on_demand")
            #expect(versions[0]["watermark"] as? Int == 4)

            let models = try await server.get("/api/learning/models/thompson", key: server.key)
            #expect(models.status == 200)
            let lineages = try #require(models.json["models"] as? [[String: Any]])
            #expect(lineages.first?["task_type"] as? String == "route")
            #expect((lineages.first?["versions"] as? [Any])?.count == 1)
            #expect(lineages.first?["summary"] is [String: Any])
            let unknownModel = try await server.get("/api/learning/models/nonesuch", key: server.key)
            #expect(unknownModel.status == 404)
            #expect(unknownModel.error["field"] as? String == "model_type")

            let status = try await server.get("/api/learning/status", key: server.key).json
            #expect(status["status"] as? String == "running")
            let updater = try #require(status["updater"] as? [String: Any])
            #expect(updater["running"] as? Bool == true)
            #expect((updater["batches_applied"] as? Int ?? 0) >= 2)
            #expect((updater["events_accepted"] as? Int) == 4)
            #expect(((status["plugins"] as? [String: Any])?["loaded"] as? [Any])?.count == 3)

            let metrics = try await server.get("/api/learning/metrics", key: server.key).json
            let latency = try #require(metrics["event_processing_latency_ms"] as? [String: Any])
            #expect((latency["p99"] as? Double).map { $0 > 0 } == true)
            #expect(((metrics["memory"] as? [String: Any])?["rss_bytes"] as? Int ?? 0) > 1_000_000)
            #expect(((metrics["throughput"] as? [String: Any])?["events_accepted"] as? Int) == 4)

            let prometheus = try await server.get("/metrics", key: nil)
            #expect(prometheus.status == 200)
            for name in ["arbiter_decisions_total", "arbiter_feedback_events_total", "arbiter_feedback_batch_size",
                         "arbiter_event_to_model_seconds", "arbiter_decide_duration_seconds", "arbiter_feedback_queue_depth",
                         "arbiter_plugin_faults_total"] {
                #expect(prometheus.text.contains(name), "\(name) is exported")
            }
            #expect(prometheus.text.contains(#"arbiter_feedback_events_total{status="accepted"} 4"#))
        }
    }

    @Test("experiments: create, read, list, change, archive; versions and rollback")
    func experiments() async throws {
        try await TestServer.with { server in
            let created = try await server.post("/v1/experiments", #"""
                {"key": "ab", "arms": ["x", "y"], "assignment": "sticky",
                 "strategies": [{"plugin": "thompson", "weight": 1}, {"name": "greedy", "plugin": "epsilon-greedy", "config": {"epsilon": 0.2}, "weight": 1}]}
                """#, key: server.adminKey)
            #expect(created.status == 201)
            #expect((created.json["strategies"] as? [[String: Any]])?.map { $0["traffic_share"] as? Double } == [0.5, 0.5])
            #expect(try await server.get("/v1/experiments/ab", key: server.key).json["assignment"] as? String == "sticky")
            #expect((try await server.get("/v1/experiments", key: server.key).json["experiments"] as? [Any])?.count == 1)

            let patched = try await server.send("PATCH", "/v1/experiments/ab", json: #"""
                {"add_arms": ["z"], "strategies": [{"name": "greedy", "plugin": "epsilon-greedy", "config": {"epsilon": 0.3}, "weight": 0}]}
                """#, key: server.adminKey)
            #expect(patched.status == 200)
            #expect(patched.json["arms"] as? [String] == ["x", "y", "z"])
            let strategies = try #require(patched.json["strategies"] as? [[String: Any]])
            #expect(strategies[1]["traffic_share"] as? Double == 0)
            #expect((strategies[1]["config"] as? [String: Any])?["epsilon"] as? Double == 0.3)
            #expect(strategies[1]["active_version"] as? Int == 1, "the new configuration was saved as a version")

            // Sending only a weight keeps the parameters.
            let reweighted = try await server.send("PATCH", "/v1/experiments/ab", json: #"{"strategies": [{"name": "greedy", "plugin": "epsilon-greedy", "weight": 2}]}"#, key: server.adminKey)
            let greedy = try #require((reweighted.json["strategies"] as? [[String: Any]])?[1])
            #expect((greedy["config"] as? [String: Any])?["epsilon"] as? Double == 0.3)
            #expect(greedy["weight"] as? Double == 2)
            #expect(greedy["active_version"] as? Int == 1, "no new version: the parameters did not change")
            let versions = try await server.get("/v1/experiments/ab/strategies/greedy/versions", key: server.key)
            #expect((versions.json["versions"] as? [[String: Any]])?.first?["reason"] as? String == "configuration")
            let rollback = try await server.post("/v1/experiments/ab/strategies/greedy/rollback", #"{"version": 1}"#, key: server.adminKey)
            #expect(rollback.status == 200)
            #expect(rollback.json["reason"] as? String == "rollback")
            #expect(rollback.json["restored_from"] as? Int == 1)
            let missing = try await server.post("/v1/experiments/ab/strategies/greedy/rollback", #"{"version": 9}"#, key: server.adminKey)
            #expect(missing.status == 404)
            #expect(missing.error["field"] as? String == "version")

            let archived = try await server.post("/v1/experiments/ab/archive", "", key: server.adminKey)
            #expect(archived.json["status"] as? String == "archived")
            let refused = try await server.post("/v1/experiments/ab/decide", "{}", key: server.key)
            #expect(refused.status == 409)
            #expect(refused.error["code"] as? String == "archived")
        }
    }

    @Test("health, readiness, plugins and the tenant")
    func operations() async throws {
        try await TestServer.with { server in
            #expect(try await server.get("/healthz", key: nil).json["status"] as? String == "alive")
            #expect(try await server.get("/readyz", key: nil).json["status"] as? String == "ready")
            let plugins = try await server.get("/v1/plugins", key: server.adminKey).json
            #expect((plugins["loaded"] as? [[String: Any]])?.compactMap { $0["name"] as? String }.sorted() == ["epsilon-greedy", "thompson", "ucb"])
            #expect(try await server.get("/v1/tenant", key: server.key).json["default_strategy"] as? String == "thompson")
            let changed = try await server.send("PUT", "/v1/tenant/default-strategy", json: #"{"plugin": "ucb", "config": {"variant": "kl-ucb"}}"#, key: server.adminKey)
            #expect(changed.status == 200)
            let prediction = try await server.post("/api/learning/predict/agent-selection",
                                                   #"{"task_type": "new", "available_agents": ["a", "b"]}"#, key: server.key)
            #expect(prediction.json["strategy"] as? String == "ucb")
            let experiment = try await server.get("/v1/experiments/new", key: server.key).json
            let config = (experiment["strategies"] as? [[String: Any]])?.first?["config"] as? [String: Any]
            #expect(config?["variant"] as? String == "kl-ucb")
            let notFound = try await server.get("/v1/nothing-here", key: server.key)
            #expect(notFound.status == 404)
            #expect(notFound.error["code"] as? String == "not_found")
        }
    }
}
