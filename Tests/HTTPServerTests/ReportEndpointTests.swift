import Assembly
import Foundation
import Storage
import Testing
import TestSupport

/// `GET /v1/experiments/{key}/report` over real HTTP: its figures equal the
/// ones recomputed here from the decision and event logs in the database.
@Suite("The A/B report")
struct ReportEndpointTests {
    @Test("per strategy and arm, the report's figures are the logs' own; the difference, P(best) and loss agree with them")
    func figuresFromTheLogs() async throws {
        try await TestServer.with { server in
            let created = try await server.post("/v1/experiments", #"""
                {"key": "ab", "arms": ["a", "b", "c"], "strategies": [{"name": "ts", "plugin": "thompson"},
                 {"name": "eg", "plugin": "epsilon-greedy", "config": {"epsilon": 0.3}}]}
                """#, key: server.adminKey)
            try #require(created.status == 201, "\(created.text)")
            // Arm c pays most; rewards fixed by a seeded rule, some decisions unanswered.
            var sent = 0
            for round in 0..<8 {
                let batch = "{\"requests\": [" + Array(repeating: "{}", count: 40).joined(separator: ",") + "]}"
                let decided = try await server.post("/v1/experiments/ab/decide", batch, key: server.adminKey)
                let decisions = try #require(decided.json["decisions"] as? [[String: Any]])
                var events: [String] = []
                for (index, decision) in decisions.enumerated() where index % 5 != 0 {
                    let id = try #require(decision["decision_id"] as? String)
                    let arm = decision["arm"] as? String ?? ""
                    let reward = arm == "c" ? (index % 3 == 0 ? 0 : 1) : (index % 4 == 0 ? 1 : 0)
                    events.append(#"{"event_id": "r\#(round)-\#(index)", "decision_id": "\#(id)", "reward": \#(reward)}"#)
                }
                sent += events.count
                let answer = try await server.post("/v1/feedback", "{\"events\": [\(events.joined(separator: ","))]}", key: server.adminKey)
                try #require(answer.status == 200)
            }
            // The writer stores within milliseconds; wait until the report has it all.
            var report: [String: Any] = [:]
            for _ in 0..<100 {
                report = try await server.get("/v1/experiments/ab/report", key: server.key).json
                let total = report["total"] as? [String: Any]
                if total?["decisions"] as? Int == 320, total?["feedback"] as? Int == sent { break }
                try await Task.sleep(for: .milliseconds(50))
            }

            // The same figures from the logs.
            let store = try Store(path: server.configuration.databasePath, migrate: false)
            let experiment = try #require(try store.experiment(tenant: "acme", key: "ab"))
            let strategies = try store.strategies(experimentID: experiment.id)
            var decisions: [String: [Int: Int]] = [:], feedback: [String: [Int: (count: Int, sum: Double)]] = [:]
            let name = Dictionary(uniqueKeysWithValues: strategies.map { ($0.id, $0.name) })
            try store.forEachDecision(experimentID: experiment.id) { decisions[name[$0.strategyID]!, default: [:]][$0.arm, default: 0] += 1 }
            try store.forEachEvent(after: 0) { event in
                guard let strategy = name[event.strategyID] else { return }
                var entry = feedback[strategy, default: [:]][event.arm, default: (0, 0)]
                entry.count += 1
                entry.sum += event.reward
                feedback[strategy, default: [:]][event.arm] = entry
            }

            let lines = try #require(report["strategies"] as? [[String: Any]])
            #expect(lines.map { $0["name"] as? String } == ["ts", "eg"])
            #expect(report["control"] as? String == "ts")
            var means: [String: Double] = [:]
            for line in lines {
                let strategy = try #require(line["name"] as? String)
                let arms = try #require(line["arms"] as? [[String: Any]])
                var strategyDecisions = 0, strategyFeedback = 0, strategySum = 0.0
                for (index, arm) in arms.enumerated() {
                    let logged = decisions[strategy]?[index] ?? 0
                    let answered = feedback[strategy]?[index] ?? (0, 0)
                    #expect(arm["decisions"] as? Int == logged, "\(strategy) arm \(index)")
                    #expect(arm["feedback"] as? Int == answered.count, "\(strategy) arm \(index)")
                    if answered.count > 0 {
                        #expect(abs((arm["mean_reward"] as? Double ?? -1) - answered.sum / Double(answered.count)) < 1e-12)
                    }
                    strategyDecisions += logged
                    strategyFeedback += answered.count
                    strategySum += answered.sum
                }
                #expect(line["decisions"] as? Int == strategyDecisions)
                #expect(line["feedback"] as? Int == strategyFeedback)
                let mean = strategySum / Double(strategyFeedback)
                means[strategy] = mean
                #expect(abs((line["mean_reward"] as? Double ?? -1) - mean) < 1e-12)
                #expect(abs((line["join_rate"] as? Double ?? -1) - Double(strategyFeedback) / Double(strategyDecisions)) < 1e-12)
            }
            let difference = try #require(lines[1]["difference"] as? [String: Any])
            #expect(abs((difference["value"] as? Double ?? 0) - (means["eg"]! - means["ts"]!)) < 1e-12)
            #expect((difference["lower"] as? Double ?? 1) < (difference["value"] as? Double ?? 0))
            #expect(lines[0]["difference"] is NSNull, "the control has none")
            let best = lines.compactMap { $0["probability_best"] as? Double }
            #expect(best.count == 2 && abs(best.reduce(0, +) - 1) < 1e-9)
            // The better mean is the likelier best and the cheaper choice.
            let better = means["ts"]! > means["eg"]! ? 0 : 1
            #expect(best[better] > 0.5)
            #expect((lines[better]["expected_loss"] as? Double ?? 1) < (lines[1 - better]["expected_loss"] as? Double ?? 0))
            let hourly = try #require(report["hourly"] as? [[String: Any]])
            let hourDecisions = hourly.flatMap { ($0["strategies"] as? [[String: Any]]) ?? [] }.compactMap { $0["decisions"] as? Int }
            #expect(hourDecisions.reduce(0, +) == 320, "the hours add up to the total")
            let changes = try #require(report["changes"] as? [[String: Any]])
            #expect(changes.first?["kind"] as? String == "created")

            // The command reads the same database while the server runs, and says the same.
            let command = try await Command.outcome(TestPaths.buildDirectory + "/arbiter", [
                "report", "--data-dir", server.directory.path, "--tenant", "acme", "--experiment", "ab",
                "--plugin-dir", TestPaths.buildDirectory, "--format", "json"])
            #expect(command.status == 0, "\(command.output)")
            let printed = try JSONSerialization.jsonObject(with: Data(command.output.utf8)) as? NSDictionary
            #expect(printed == (report as NSDictionary), "arbiter report --format json equals the HTTP answer")
            let csv = try await Command.outcome(TestPaths.buildDirectory + "/arbiter", [
                "report", "--data-dir", server.directory.path, "--tenant", "acme", "--experiment", "ab",
                "--plugin-dir", TestPaths.buildDirectory, "--format", "csv"])
            #expect(csv.output.split(separator: "\n").first == "period,start,strategy,arm,decisions,feedback,join_rate,mean_reward,lower,upper,probability_best,expected_loss,difference")
            #expect(csv.output.contains("\nall,,eg,,\(lines[1]["decisions"] as? Int ?? -1),"))

            // A weight change, arms added and the archive are on the timeline, in order.
            let patched = try await server.send("PATCH", "/v1/experiments/ab", json: #"{"strategies": [{"name": "eg", "plugin": "epsilon-greedy", "weight": 3}], "add_arms": ["d"]}"#, key: server.adminKey)
            #expect(patched.status == 200, "\(patched.text)")
            let archived = try await server.post("/v1/experiments/ab/archive", "{}", key: server.adminKey)
            #expect(archived.status == 200, "\(archived.text)")
            let later = try await server.get("/v1/experiments/ab/report", key: server.key).json
            let timeline = try #require(later["changes"] as? [[String: Any]])
            let kinds = timeline.map { $0["kind"] as? String ?? "" }
            #expect(Array(kinds.suffix(3)) == ["weight", "arms_added", "status"], "\(kinds)")
            #expect(timeline.first { $0["kind"] as? String == "weight" }?["detail"] as? String == "weight 1.0 → 3.0")
            #expect(timeline.first { $0["kind"] as? String == "weight" }?["strategy"] as? String == "eg")
            #expect(timeline.last?["detail"] as? String == "active → archived")
            let keyParts = server.adminKey.split(separator: "_", maxSplits: 2).map(String.init)
            let actor = timeline.last?["actor"] as? String ?? ""
            #expect(actor == keyParts[1], "the key's id")
            #expect(actor.contains(keyParts[2]) == false, "never its secret")

            let other = try await server.get("/v1/experiments/ab/report?control=eg", key: server.key)
            #expect((other.json["strategies"] as? [[String: Any]])?[0]["difference"] is [String: Any])
            let unknown = try await server.get("/v1/experiments/ab/report?control=nope", key: server.key)
            #expect(unknown.status == 409, "a strategy the experiment does not have")
            #expect((unknown.json["error"] as? [String: Any])?["field"] as? String == "control")
        }
    }
}
