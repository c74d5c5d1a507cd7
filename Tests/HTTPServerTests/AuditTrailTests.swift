import Engine
import Foundation
import Testing
import TestSupport

@Suite("The audit trail: every change, who made it, what before and what after")
struct AuditTrailTests {
    /// The id part of a key `arb_<id>_<secret>`.
    static func keyID(_ token: String) -> String {
        token.split(separator: "_", maxSplits: 2).map(String.init)[1]
    }

    @Test("create, PATCH, archive, rollback, default strategy and creation on first use are recorded with the key's id, before and after")
    func experimentChanges() async throws {
        try await TestServer.with { server in
            let admin = Self.keyID(server.adminKey)
            let created = try await server.post("/v1/experiments", #"""
                {"key": "ab", "arms": ["a", "b"], "strategies": [{"name": "ts", "plugin": "thompson"},
                 {"name": "eg", "plugin": "epsilon-greedy", "config": {"epsilon": 0.2}, "weight": 1}]}
                """#, key: server.adminKey)
            #expect(created.status == 201, "\(created.text)")
            let patched = try await server.send("PATCH", "/v1/experiments/ab", json: #"""
                {"strategies": [{"name": "eg", "plugin": "epsilon-greedy", "config": {"epsilon": 0.05}, "weight": 3}], "add_arms": ["c"]}
                """#, key: server.adminKey)
            #expect(patched.status == 200, "\(patched.text)")
            // Something to roll back to: a version, learning, a rollback.
            let decision = try await server.post("/v1/experiments/ab/decide", "{}", key: server.key)
            let id = decision.json["decision_id"] as? String ?? ""
            _ = try await server.post("/v1/feedback", #"{"events": [{"event_id": "e1", "decision_id": "\#(id)", "reward": 1}]}"#, key: server.key)
            try await server.flush()
            _ = try await server.engine.saveVersions(tenant: "acme", experiment: "ab")
            let versions = try await server.get("/v1/experiments/ab/strategies/ts/versions", key: server.key).json["versions"] as? [[String: Any]] ?? []
            let first = try #require(versions.first?["version"] as? Int)
            let more = try await server.post("/v1/experiments/ab/decide", "{}", key: server.key).json["decision_id"] as? String ?? ""
            _ = try await server.post("/v1/feedback", #"{"events": [{"event_id": "e2", "decision_id": "\#(more)", "reward": 0}]}"#, key: server.key)
            try await server.flush()
            _ = try await server.engine.saveVersions(tenant: "acme", experiment: "ab")
            let rolledBack = try await server.post("/v1/experiments/ab/strategies/ts/rollback", #"{"version": \#(first)}"#, key: server.adminKey)
            #expect(rolledBack.status == 200, "\(rolledBack.text)")
            #expect(try await server.post("/v1/experiments/ab/archive", "{}", key: server.adminKey).status == 200)
            let defaults = try await server.send("PUT", "/v1/tenant/default-strategy", json: #"{"plugin": "ucb"}"#, key: server.adminKey)
            #expect(defaults.status == 200, "\(defaults.text)")
            // Creation on first use, by a key that is not an admin.
            let predicted = try await server.post("/api/learning/predict/agent-selection",
                                                  #"{"task_type": "fresh", "available_agents": ["x", "y"]}"#, key: server.key)
            #expect(predicted.status == 200)
            try await server.flush()

            let trail = try await server.get("/v1/experiments/ab/changes", key: server.key)
            #expect(trail.status == 200, "\(trail.text)")
            let changes = try #require(trail.json["changes"] as? [[String: Any]])
            #expect(changes.map { $0["action"] as? String ?? "" }
                    == ["experiment.archive", "strategy.rollback", "experiment.update", "experiment.create"], "newest first: \(trail.text)")
            #expect(changes.allSatisfy { $0["actor"] as? String == admin }, "the admin key's id on each")
            #expect(!trail.text.contains(server.adminKey), "never a secret")

            let update = changes[2]
            let before = try #require(update["before"] as? [String: Any])
            let after = try #require(update["after"] as? [String: Any])
            #expect(before["arms"] as? [String] == ["a", "b"])
            #expect(after["arms"] as? [String] == ["a", "b", "c"])
            func strategy(_ snapshot: [String: Any], _ name: String) -> [String: Any] {
                (snapshot["strategies"] as? [[String: Any]])?.first { $0["name"] as? String == name } ?? [:]
            }
            #expect((strategy(before, "eg")["config"] as? [String: Any])?["epsilon"] as? Double == 0.2)
            #expect((strategy(after, "eg")["config"] as? [String: Any])?["epsilon"] as? Double == 0.05)
            #expect(strategy(before, "eg")["weight"] as? Double == 1)
            #expect(strategy(after, "eg")["weight"] as? Double == 3)
            #expect(changes[3]["before"] is NSNull, "a creation has no before")
            #expect((changes[0]["after"] as? [String: Any])?["status"] as? String == "archived")
            let rollback = changes[1]
            #expect((rollback["after"] as? [String: Any])?["restored_from"] as? Int == first)

            // The tenant's whole trail (admin): the default strategy and the
            // creation on first use, by the plain key.
            let all = try await server.get("/v1/changes?limit=2", key: server.adminKey)
            #expect(all.status == 200, "\(all.text)")
            let newest = try #require(all.json["changes"] as? [[String: Any]])
            #expect(newest.count == 2)
            #expect(Set(newest.map { $0["action"] as? String ?? "" }) == ["experiment.create", "tenant.default_strategy"], "\(all.text)")
            #expect(newest.first { $0["action"] as? String == "experiment.create" }?["actor"] as? String == Self.keyID(server.key))
            #expect(newest.first { $0["action"] as? String == "experiment.create" }?["subject"] as? String == "fresh")
            let defaultChange = try #require(newest.first { $0["action"] as? String == "tenant.default_strategy" })
            #expect((defaultChange["before"] as? [String: Any])?["strategy"] as? String == "thompson")
            #expect((defaultChange["after"] as? [String: Any])?["strategy"] as? String == "ucb")
            let next = try #require(all.json["next"] as? String)
            let rest = try await server.get("/v1/changes?limit=1000&cursor=\(next)", key: server.adminKey).json
            #expect((rest["changes"] as? [Any])?.count == 4, "the experiment's four, on the next page")
            #expect(rest["next"] is NSNull)

            // Only admins read the tenant's trail; another tenant sees none of it.
            #expect(try await server.get("/v1/changes", key: server.key).status == 403)
            let otherAdmin = try server.makeKey(tenant: "other", admin: true)
            let otherTrail = try await server.get("/v1/changes", key: otherAdmin).json["changes"] as? [Any]
            #expect(otherTrail?.isEmpty == true)
            #expect(try await server.get("/v1/experiments/ab/changes", key: otherAdmin).status == 404)
            #expect(try await server.get("/v1/experiments/ab/changes?limit=0", key: server.key).status == 400)
        }
    }
}
