import Assembly
import Foundation
import HTTPServer
import PluginHost
import Testing
import TestSupport

/// The dashboard in a real browser: headless Chromium driven by selenium
/// (Tests/Support/dashboard_check.py) against `arbiter serve`.
@Suite("The dashboard, checked in headless Chromium", .serialized)
struct DashboardBrowserTests {
    @Test("sign-in (a wrong key told so), the experiment list, one experiment, a rollback and a weight change, plugins, health: the page's numbers are the API's, the actions take effect, the console has no errors")
    func browse() async throws {
        let server = try ServerProcess()
        defer { server.directory.remove() }
        try await server.start()
        // An A/B experiment with decisions and feedback, and versions to roll back to.
        let created = try await server.post("/v1/experiments", #"{"key": "checkout", "arms": ["blue", "green", "red"], "strategies": [{"plugin": "thompson"}, {"plugin": "epsilon-greedy"}]}"#)
        #expect(created.0 == 201)
        for index in 0..<12 {
            #expect(try await server.post("/v1/experiments", #"{"key": "other-\#(index)", "arms": ["a", "b"], "strategy": "ucb"}"#).0 == 201)
        }
        let truth = ["blue": 0.3, "green": 0.6, "red": 0.45]
        var generator = SeedSequence(seed: 7)  // rewards the test can repeat
        var event = 0
        for round in 0..<3 {
            let decided = try await server.post("/v1/experiments/checkout/decide", #"{"requests": [\#(Array(repeating: "{}", count: 200).joined(separator: ","))]}"#).1
            let events = (decided["decisions"] as? [[String: Any]] ?? []).map { decision -> String in
                event += 1
                let reward = Double.random(in: 0..<1, using: &generator) < truth[decision["arm"] as? String ?? "", default: 0] ? 1 : 0
                return #"{"event_id": "e\#(event)", "decision_id": "\#(decision["decision_id"] as? String ?? "")", "reward": \#(reward)}"#
            }
            #expect(try await server.post("/v1/feedback", #"{"events": [\#(events.joined(separator: ","))]}"#).0 == 200)
            // A new configuration saves a version of the strategy.
            let patched = try await server.post(patch: "/v1/experiments/checkout", #"{"strategies": [{"name": "thompson", "plugin": "thompson", "config": {"prior_alpha": \#(round + 1)}}]}"#)
            #expect(patched == 200)
        }
        // A read-only key: the command prints it alone on standard output.
        let reader = try await Command.outcome(TestPaths.buildDirectory + "/arbiter", ["keys", "create", "--data-dir", server.directory.path, "--tenant", "default"])
            .output.trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(reader.hasPrefix("arb_") && !reader.contains("\n"))
        let shots = try TemporaryDirectory("arbiter-dashboard-shots")
        defer { shots.remove() }
        let outcome = try await Command.outcome(TestPaths.python, [TestPaths.file("Tests/Support/dashboard_check.py"),
                                                                   "http://127.0.0.1:\(server.port)", server.key, reader, "checkout", shots.path])
        #expect(outcome.status == 0, "\(outcome.output)\n\(outcome.error.suffix(3_000))")
        for step in ["ok   the API has the new weight", "ok   50 decisions between two refreshes", "ok   the API has the rollback", "ok   no console errors at the end"] {
            #expect(outcome.output.contains(step), "\(step)")
        }
        #expect(FileManager.default.fileExists(atPath: shots.file("experiment.png")), "screenshots are saved")
        // The same report drawn by the command line, beside the running server.
        let plot = shots.file("report.svg")
        let report = try await Command.outcome(TestPaths.buildDirectory + "/arbiter", ["report", "--data-dir", server.directory.path,
                                                                                       "--experiment", "checkout", "--plot", plot])
        #expect(report.status == 0, "\(report.error)")
        let svg = try String(contentsOfFile: plot, encoding: .utf8)
        #expect(svg.hasPrefix("<svg") && svg.contains("Mean reward per hour") && svg.contains("thompson") && svg.contains("epsilon-greedy"))
        #expect(svg.components(separatedBy: "class=\"marker\"").count - 1 >= 2 * 3, "the three changes marked on both panels")
        #expect(await server.stop() == .exit(0))
    }
}

@Suite("The dashboard's files")
struct DashboardFileTests {
    @Test("served from the binary with a strict content policy, with no key; gone with the dashboard turned off, the API unchanged")
    func served() async throws {
        try await TestServer.with { server in
            let page = try await server.get("/dashboard", key: nil)
            #expect(page.status == 200 && page.headers["content-type"] == "text/html; charset=utf-8")
            #expect(page.text.contains("/dashboard/app.js") && !page.text.contains("http://") && !page.text.contains("https://"),
                    "nothing fetched from elsewhere")
            #expect(page.headers["content-security-policy"]?.contains("default-src 'none'") == true)
            #expect(page.headers["content-security-policy"]?.contains("script-src 'self'") == true)
            let script = try await server.get("/dashboard/app.js", key: nil)
            #expect(script.status == 200 && script.headers["content-type"] == "text/javascript; charset=utf-8")
            #expect(!script.text.contains("https://") && !script.text.contains("http://"), "no CDN, no remote call")
            #expect(!script.text.contains("document.cookie") && !script.text.contains("localStorage"), "the key is kept for the tab only")
            #expect(try await server.get("/dashboard/app.css", key: nil).status == 200)
            let total = page.body.count + script.body.count + (try await server.get("/dashboard/app.css", key: nil)).body.count
            #expect(total < 64 * 1_024, "the page stays light: \(total) bytes")
        }
        try await TestServer.with(configure: { $0.http.dashboard = false }) { (server: TestServer) async throws in
            #expect(try await server.get("/dashboard", key: nil).status == 404)
            #expect(try await server.get("/dashboard/app.js", key: nil).status == 404)
            #expect(try await server.get("/v1/tenant", key: server.key).status == 200)
        }
        var configuration = HostConfiguration()
        try configuration.apply(environment: ["ARBITER_DASHBOARD": "false"])
        #expect(configuration.http.dashboard == false)
        #expect(throws: HostConfiguration.Invalid.self) { try configuration.set("dashboard", "off", source: "test") }
    }
}
