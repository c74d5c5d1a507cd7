import Engine
import Foundation
import PluginHost
import Storage
import Testing
import TestSupport

/// Builds of the C fixture plugin (Tests/PluginHostTests/Fixtures) under the
/// name `fixture`, one file per build, put in a plugin directory the server
/// loads and reloads.
struct FixtureBuilds {
    let directory: TemporaryDirectory
    let source = TestPaths.file("Tests/PluginHostTests/Fixtures/fixture_plugin.c")

    init() throws {
        directory = try TemporaryDirectory("arbiter-plugin-dir")
    }

    /// Builds `version` with `defines` into a scratch file and returns its path.
    func build(_ version: String, _ defines: [String] = [], name: String = "scratch") throws -> String {
        let output = directory.file(".\(name)-\(UUID().uuidString).build")
        try CCompiler.buildLibrary(source: source, output: output,
                                   defines: [#"FIXTURE_VERSION="\#(version)""#] + defines)
        return output
    }

    /// Writes `build`'s bytes over `file` of the plugin directory in place
    /// (the same inode: what overwriting a loaded library does).
    func overwrite(_ file: String, with build: String) throws {
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: directory.file(file)))
        try handle.truncate(atOffset: 0)
        try handle.write(contentsOf: Data(contentsOf: URL(fileURLWithPath: build)))
        try handle.close()
    }

    /// Puts `build` in the plugin directory as `file` (a new file).
    func install(_ build: String, as file: String) throws {
        try FileManager.default.copyItem(atPath: build, toPath: directory.file(file))
    }
}

extension TestServer {
    func decideArm(_ key: String) async throws -> (arm: String, decisionID: String) {
        let result = try await post("/v1/experiments/\(key)/decide", "{}", key: adminKey)
        guard result.status == 200 else { throw Failure(message: "decide: \(result.status) \(result.text)") }
        return (result.json["arm"] as? String ?? "", result.json["decision_id"] as? String ?? "")
    }

    func feedback(_ decisions: [String], label: String) async throws {
        let events = decisions.enumerated().map { #"{"event_id": "\#(label)-\#($0.offset)", "decision_id": "\#($0.element)", "reward": 1}"# }
        let result = try await post("/v1/feedback", #"{"events": [\#(events.joined(separator: ","))]}"#, key: adminKey)
        guard result.status == 200 else { throw Failure(message: "feedback: \(result.status) \(result.text)") }
        try await flush()
    }

    /// The fixture's learned-records count and state format in the active
    /// saved version of `strategy` (saved first).
    func savedFixtureState(_ key: String, strategy: String = "fixture") async throws -> (learned: UInt64, pluginVersion: String, reason: VersionReason) {
        _ = try await engine.saveVersions(tenant: "acme", experiment: key)
        let store = try self.store()
        let experiment = try #require(try store.experiment(tenant: "acme", key: key))
        let record = try #require(try store.strategies(experimentID: experiment.id).first { $0.name == strategy })
        let version = try #require(try store.activeVersion(strategyID: record.id))
        let learned = version.state.suffix(8).enumerated().reduce(UInt64(0)) { $0 | UInt64($1.element) << (8 * UInt64($1.offset)) }
        return (learned, version.pluginVersion, version.reason)
    }

    func pluginVersions() async throws -> [[String: Any]] {
        try await get("/v1/plugins", key: adminKey).json["versions"] as? [[String: Any]] ?? []
    }
}

@Suite("Hot plugin upgrade: content-addressed copies, reload, self-check, migration, downgrade")
struct PluginUpgradeTests {
    @Test("a build overwritten in place changes nothing until a reload; the reload moves the live state to it, once; activate goes back")
    func overwriteReloadAndDowngrade() async throws {
        let builds = try FixtureBuilds()
        defer { builds.directory.remove() }
        let first = try builds.build("1.0.0")
        try builds.install(first, as: "libfixture.so")
        try await TestServer.with(pluginDirectory: builds.directory.path) { server in
            #expect(try await server.post("/v1/experiments", #"{"key": "x", "arms": ["a", "b", "c"], "strategy": "fixture"}"#,
                                          key: server.adminKey).status == 201)
            var decisions: [String] = []
            for _ in 0..<5 {
                let (arm, id) = try await server.decideArm("x")
                #expect(arm == "a", "1.0.0 chooses the first arm")
                decisions.append(id)
            }
            try await server.feedback(Array(decisions.prefix(3)), label: "before")

            // Another build written over the loaded file: the server keeps
            // serving the copy it loaded, untouched.
            let second = try builds.build("1.1.0", ["FIXTURE_PICK_LAST"])
            try builds.overwrite("libfixture.so", with: second)
            for _ in 0..<3 { #expect(try await server.decideArm("x").arm == "a", "nothing changes before a reload") }
            #expect(try await server.pluginVersions().count == 1)

            let reload = try await server.post("/v1/plugins/reload", "", key: server.adminKey)
            #expect(reload.status == 200, "\(reload.text)")
            let upgrades = try #require(reload.json["upgrades"] as? [[String: Any]])
            #expect(upgrades.count == 1)
            #expect(upgrades.first?["outcome"] as? String == "upgraded", "\(reload.text)")
            #expect((upgrades.first?["from"] as? String)?.hasPrefix("fixture 1.0.0") == true)
            #expect((upgrades.first?["to"] as? String)?.hasPrefix("fixture 1.1.0") == true)
            #expect(upgrades.first?["moved"] as? Int == 1)

            // The moved state carries what 1.0.0 learned, saved as an upgrade.
            let store = try server.store()
            let experiment = try #require(try store.experiment(tenant: "acme", key: "x"))
            let strategy = try #require(try store.strategies(experimentID: experiment.id).first)
            let upgraded = try #require(try store.activeVersion(strategyID: strategy.id))
            #expect(upgraded.reason == .upgrade)
            #expect(upgraded.pluginVersion == "1.1.0")

            // Decisions now come from 1.1.0; feedback for the decisions 1.0.0
            // made and not yet answered is learned by 1.1.0, once.
            #expect(try await server.decideArm("x").arm == "c", "1.1.0 chooses the last arm")
            try await server.feedback(Array(decisions.suffix(2)), label: "after")
            try await server.feedback(Array(decisions.suffix(2)), label: "after")  // duplicates: not learned again
            var saved = try await server.savedFixtureState("x")
            #expect(saved.learned == 5, "3 learned by 1.0.0, moved; 2 learned by 1.1.0; the duplicates not at all")
            #expect(saved.pluginVersion == "1.1.0")

            var versions = try await server.pluginVersions()
            #expect(versions.count == 2, "both builds stay resident")
            let active = try #require(versions.first { $0["active"] as? Bool == true })
            #expect(active["version"] as? String == "1.1.0")
            #expect(active["strategies"] as? Int == 1)
            #expect(active["experiments"] as? [String] == ["x"])
            #expect((active["loaded_from"] as? String)?.hasSuffix("/plugins/\(active["sha256"] as? String ?? "-").so") == true)

            // The same bytes again: nothing is loaded, nothing changes.
            let again = try await server.post("/v1/plugins/reload", "{}", key: server.adminKey)
            #expect((again.json["loaded"] as? [Any])?.isEmpty == true)
            #expect((again.json["upgrades"] as? [Any])?.isEmpty == true)

            // A downgrade to the resident 1.0.0.
            let down = try await server.post("/v1/plugins/fixture/activate", #"{"version": "1.0.0"}"#, key: server.adminKey)
            #expect(down.status == 200, "\(down.text)")
            #expect(down.json["outcome"] as? String == "upgraded")
            #expect(try await server.decideArm("x").arm == "a")
            saved = try await server.savedFixtureState("x")
            #expect(saved.learned == 5)
            #expect(saved.pluginVersion == "1.0.0")
            versions = try await server.pluginVersions()
            #expect(versions.first { $0["active"] as? Bool == true }?["version"] as? String == "1.0.0")

            let metrics = try await server.get("/metrics", key: nil).text
            #expect(metrics.contains(#"arbiter_plugin_upgrades_total{plugin="fixture",outcome="done"} 2"#), "\(metrics)")
            #expect(metrics.contains(#"arbiter_plugin_versions_resident{plugin="fixture"} 2"#))

            // The report's timeline shows both switches, with the key's id.
            let report = try await server.get("/v1/experiments/x/report", key: server.adminKey)
            let changes = report.json["changes"] as? [[String: Any]] ?? []
            #expect(changes.filter { $0["kind"] as? String == "upgrade" }.count == 2, "\(report.text)")

            // The audit trail: the reload, the upgrade and the activation,
            // with the versions before and after and the key's id.
            let trail = try await server.get("/v1/changes", key: server.adminKey).json["changes"] as? [[String: Any]] ?? []
            let actions = trail.map { $0["action"] as? String ?? "" }
            #expect(Array(actions.prefix(5)) == ["plugin.activate", "plugin.reload", "plugin.upgrade", "plugin.reload", "experiment.create"], "\(actions)")
            let activation = trail[0]
            #expect((activation["before"] as? [String: Any])?["version"] as? String == "1.1.0")
            #expect((activation["after"] as? [String: Any])?["version"] as? String == "1.0.0")
            #expect(activation["actor"] as? String == AuditTrailTests.keyID(server.adminKey))
            #expect((trail[2]["after"] as? [String: Any])?["moved"] as? Int == 1)
        }
    }

    @Test("a new build that fails its check is refused with the reason; the old one keeps serving; start_fresh moves past an unreadable state")
    func refusals() async throws {
        let builds = try FixtureBuilds()
        defer { builds.directory.remove() }
        try builds.install(try builds.build("1.0.0"), as: "libfixture.so")
        try await TestServer.with(pluginDirectory: builds.directory.path) { server in
            #expect(try await server.post("/v1/experiments", #"{"key": "x", "arms": ["a", "b", "c"], "strategy": "fixture"}"#,
                                          key: server.adminKey).status == 201)
            let (_, decision) = try await server.decideArm("x")
            try await server.feedback([decision], label: "one")

            // Refused when loading: describe fails; another ABI major.
            try builds.install(try builds.build("2.0.0", ["FIXTURE_DESCRIBE_FAILS"]), as: "libfixture-describe.so")
            try builds.install(try builds.build("2.0.0", ["FIXTURE_ENTRY_MAJOR=2"]), as: "libfixture-major.so")
            var reload = try await server.post("/v1/plugins/reload", "", key: server.adminKey)
            #expect(reload.status == 200)
            let refusedFiles = reload.json["refused"] as? [[String: Any]] ?? []
            #expect(refusedFiles.contains { ($0["file"] as? String)?.hasSuffix("libfixture-describe.so") == true
                && ($0["reason"] as? String)?.contains("describe failed") == true }, "\(reload.text)")
            #expect(refusedFiles.contains { ($0["file"] as? String)?.hasSuffix("libfixture-major.so") == true
                && ($0["reason"] as? String)?.contains("ABI major 2") == true }, "\(reload.text)")
            #expect((reload.json["upgrades"] as? [Any])?.isEmpty == true)
            let listing = try await server.get("/v1/plugins", key: server.adminKey).json
            #expect((listing["refused"] as? [Any])?.count == 2, "the listing names every refused file")
            try FileManager.default.removeItem(atPath: builds.directory.file("libfixture-describe.so"))
            try FileManager.default.removeItem(atPath: builds.directory.file("libfixture-major.so"))

            // Loads, but select answers an arm outside the eligible set.
            try builds.install(try builds.build("2.0.0", ["FIXTURE_SELECT=1"]), as: "libfixture-select.so")
            reload = try await server.post("/v1/plugins/reload", "", key: server.adminKey)
            var upgrade = try #require((reload.json["upgrades"] as? [[String: Any]])?.first)
            #expect(upgrade["outcome"] as? String == "refused")
            #expect((upgrade["reason"] as? String)?.contains("not eligible") == true, "\(reload.text)")
            let served = try await server.post("/v1/experiments/x/decide", "{}", key: server.adminKey)
            #expect(served.json["arm"] as? String == "a")
            #expect(served.json["fallback"] == nil, "the old version serves, untouched")
            try FileManager.default.removeItem(atPath: builds.directory.file("libfixture-select.so"))

            // Cannot read the old state format: refused by default. (The
            // strategy's saved version, in format 1, is checked as the live
            // state it is, not as a stored one that could not start fresh.)
            _ = try await server.engine.saveVersions(tenant: "acme", experiment: "x")
            try builds.install(try builds.build("3.0.0", ["FIXTURE_STATE_FORMAT=2", "FIXTURE_READS_FORMAT_MIN=2", "FIXTURE_PICK_LAST"]),
                               as: "libfixture-format.so")
            reload = try await server.post("/v1/plugins/reload", "", key: server.adminKey)
            upgrade = try #require((reload.json["upgrades"] as? [[String: Any]])?.first)
            #expect(upgrade["outcome"] as? String == "refused")
            #expect((upgrade["reason"] as? String)?.contains("no longer reads") == true, "\(reload.text)")
            #expect((upgrade["reason"] as? String)?.contains("start_fresh") == true)
            #expect(try await server.decideArm("x").arm == "a")

            // Asked for explicitly, with start_fresh: the strategy starts
            // fresh on 3.0.0, and that is recorded.
            let activated = try await server.post("/v1/plugins/fixture/activate", #"{"version": "3.0.0", "start_fresh": true}"#,
                                                  key: server.adminKey)
            #expect(activated.status == 200, "\(activated.text)")
            #expect((activated.json["started_fresh"] as? [String])?.count == 1)
            #expect(try await server.decideArm("x").arm == "c")
            let saved = try await server.savedFixtureState("x")
            #expect(saved.learned == 0, "started fresh")
            #expect(saved.pluginVersion == "3.0.0")

            // Activating a version that is not resident, or an ambiguous one.
            let missing = try await server.post("/v1/plugins/fixture/activate", #"{"version": "9.9.9"}"#, key: server.adminKey)
            #expect(missing.status == 409)
            #expect(missing.error["field"] as? String == "version")
            let unknown = try await server.post("/v1/plugins/nothing/activate", #"{"version": "1.0.0"}"#, key: server.adminKey)
            #expect(unknown.status == 409)
            let notAdmin = try await server.post("/v1/plugins/reload", "", key: server.key)
            #expect(notAdmin.status == 403)

            let metrics = try await server.get("/metrics", key: nil).text
            #expect(metrics.contains(#"arbiter_plugin_upgrades_total{plugin="fixture",outcome="refused"} 2"#), "\(metrics)")
            let trail = try await server.get("/v1/changes", key: server.adminKey).json["changes"] as? [[String: Any]] ?? []
            let refusals = trail.filter { $0["action"] as? String == "plugin.upgrade_refused" }
            #expect(refusals.count == 2)
            #expect(refusals.contains { ($0["after"] as? [String: Any])?["reason"].map { "\($0)".contains("not eligible") } == true })
        }
    }

    @Test("arbiter serve loads each library from its copy under the data directory; SIGHUP and `arbiter plugins reload` and `activate` work against it")
    func signalAndCommands() async throws {
        let builds = try FixtureBuilds()
        defer { builds.directory.remove() }
        try builds.install(try builds.build("1.0.0"), as: "libfixture.so")
        let server = try ServerProcess(pluginDirectory: builds.directory.path)
        defer { server.directory.remove() }
        try await server.start()
        let url = "http://127.0.0.1:\(server.port)"
        func decide() async throws -> String {
            let (status, body) = try await server.post("/v1/experiments/x/decide", "{}")
            #expect(status == 200, "\(body)")
            return body["arm"] as? String ?? ""
        }
        #expect(try await server.post("/v1/experiments", #"{"key": "x", "arms": ["a", "b", "c"], "strategy": "fixture"}"#).0 == 201)
        #expect(try await decide() == "a")

        // What the process mapped is the private copy, not the file in the
        // plugin directory.
        let copies = try FileManager.default.contentsOfDirectory(atPath: server.directory.file("plugins"))
        #expect(copies.count == 1 && copies[0].hasSuffix(".so"), "\(copies)")
        // (Read with cat: /proc files have no size for Foundation to read up to.)
        let maps = try Command.run("/bin/cat", ["/proc/\(server.process.pid)/maps"])
        #expect(maps.contains(server.directory.file("plugins/") + copies[0]))
        #expect(!maps.contains(builds.directory.file("libfixture.so")))

        // SIGHUP reloads.
        try builds.overwrite("libfixture.so", with: try builds.build("1.1.0", ["FIXTURE_PICK_LAST"]))
        #expect(try await decide() == "a")
        server.process.send(SIGHUP)
        let deadline = ContinuousClock.now + .seconds(20)
        var arm = try await decide()
        while arm != "c", ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(50))
            arm = try await decide()
        }
        #expect(arm == "c", "SIGHUP put 1.1.0 in service: \(server.output)")

        // The command: a refused build makes it exit 1 with the reason.
        try builds.install(try builds.build("1.2.0", ["FIXTURE_SELECT=1"]), as: "libfixture-bad.so")
        let arbiter = TestPaths.buildDirectory + "/arbiter"
        let refused = try await Command.outcome(arbiter, ["plugins", "reload", "--server", url, "--data-dir", server.directory.path])
        #expect(refused.status == 1, "\(refused.output) \(refused.error)")
        #expect(refused.output.contains("not eligible"), "\(refused.output)")
        #expect(try await decide() == "c")

        // The running server's versions, from the command line.
        let listed = try await Command.outcome(arbiter, ["plugins", "--running", "--server", url, "--data-dir", server.directory.path])
        #expect(listed.status == 0, "\(listed.error)")
        #expect(listed.output.contains("fixture 1.1.0") && listed.output.contains("active") && listed.output.contains("fixture 1.0.0"),
                "\(listed.output)")
        #expect(listed.output.contains("1 strategy in memory: x"), "\(listed.output)")

        let activated = try await Command.outcome(arbiter, ["plugins", "activate", "fixture", "1.0.0", "--server", url,
                                                            "--data-dir", server.directory.path])
        #expect(activated.status == 0, "\(activated.output) \(activated.error)")
        #expect(try await decide() == "a")
        let missing = try await Command.outcome(arbiter, ["plugins", "activate", "fixture", "7.0.0", "--server", url,
                                                          "--data-dir", server.directory.path])
        #expect(missing.status != 0)
        #expect(missing.error.contains("409"), "\(missing.error)")

        #expect(await server.stop() == .exit(0), "\(server.output)")
    }
}

@Suite("Canary: a strategy pinned to a plugin version runs it beside the active one")
struct PluginCanaryTests {
    @Test("reload without activating, pin a strategy to the new version, compare, promote, and the pin holds through upgrades")
    func canaryThenPromote() async throws {
        let builds = try FixtureBuilds()
        defer { builds.directory.remove() }
        try builds.install(try builds.build("1.0.0"), as: "libfixture.so")
        try await TestServer.with(pluginDirectory: builds.directory.path) { server in
            #expect(try await server.post("/v1/experiments", #"{"key": "x", "arms": ["a", "b", "c"], "strategies": [{"name": "main", "plugin": "fixture"}]}"#,
                                          key: server.adminKey).status == 201)
            // The new build, loaded and checked, not active.
            try builds.install(try builds.build("1.1.0", ["FIXTURE_PICK_LAST"]), as: "libfixture-next.so")
            let reload = try await server.post("/v1/plugins/reload", #"{"activate": false}"#, key: server.adminKey)
            #expect((reload.json["upgrades"] as? [[String: Any]])?.first?["outcome"] as? String == "loaded", "\(reload.text)")
            #expect(try await server.decideArm("x").arm == "a", "nothing switched")

            // A pin to a version that is not loaded is refused, naming the field.
            let missing = try await server.send("PATCH", "/v1/experiments/x", json: #"{"strategies": [{"name": "canary", "plugin": "fixture", "plugin_version": "9.0.0"}]}"#,
                                                key: server.adminKey)
            #expect(missing.status == 409)
            #expect(missing.error["field"] as? String == "strategies[0].plugin_version", "\(missing.text)")
            let malformed = try await server.send("PATCH", "/v1/experiments/x", json: #"{"strategies": [{"name": "canary", "plugin": "fixture", "plugin_version": "next"}]}"#,
                                                  key: server.adminKey)
            #expect(malformed.status == 400)

            // The canary: half the traffic on 1.1.0.
            let patched = try await server.send("PATCH", "/v1/experiments/x", json: #"{"strategies": [{"name": "canary", "plugin": "fixture", "plugin_version": "1.1.0"}]}"#,
                                                key: server.adminKey)
            #expect(patched.status == 200, "\(patched.text)")
            let strategies = patched.json["strategies"] as? [[String: Any]] ?? []
            #expect(strategies.first { $0["name"] as? String == "canary" }?["plugin_version"] as? String == "1.1.0")
            #expect(strategies.first { $0["name"] as? String == "canary" }?["pinned"] as? Bool == true)
            #expect(strategies.first { $0["name"] as? String == "main" }?["pinned"] as? Bool == false)
            var byStrategy: [String: Set<String>] = [:]
            for _ in 0..<60 {
                let answer = try await server.post("/v1/experiments/x/decide", "{}", key: server.adminKey).json
                byStrategy[answer["strategy"] as? String ?? "", default: []].insert(answer["arm"] as? String ?? "")
            }
            #expect(byStrategy["main"] == ["a"], "the active 1.0.0")
            #expect(byStrategy["canary"] == ["c"], "the pinned 1.1.0")

            // Promote: the unpinned strategy moves to 1.1.0; the canary stays
            // pinned, also through a later downgrade.
            let promoted = try await server.post("/v1/plugins/fixture/activate", #"{"version": "1.1.0"}"#, key: server.adminKey)
            #expect(promoted.status == 200, "\(promoted.text)")
            #expect(promoted.json["moved"] as? Int == 1, "only the unpinned strategy moved")
            let down = try await server.post("/v1/plugins/fixture/activate", #"{"version": "1.0.0"}"#, key: server.adminKey)
            #expect(down.status == 200)
            byStrategy = [:]
            for _ in 0..<60 {
                let answer = try await server.post("/v1/experiments/x/decide", "{}", key: server.adminKey).json
                byStrategy[answer["strategy"] as? String ?? "", default: []].insert(answer["arm"] as? String ?? "")
            }
            #expect(byStrategy["main"] == ["a"])
            #expect(byStrategy["canary"] == ["c"])
            // Where each version is used.
            let versions = try await server.pluginVersions()
            #expect(versions.first { $0["version"] as? String == "1.1.0" }?["strategies"] as? Int == 1)
            #expect(versions.first { $0["version"] as? String == "1.0.0" }?["strategies"] as? Int == 1)
            // A pin does not change by PATCH.
            let repin = try await server.send("PATCH", "/v1/experiments/x", json: #"{"strategies": [{"name": "canary", "plugin": "fixture", "plugin_version": "1.0.0"}]}"#,
                                              key: server.adminKey)
            #expect(repin.status == 409)
            #expect(repin.error["field"] as? String == "strategies[0].plugin_version")
            // The report compares the two, side by side.
            let report = try await server.get("/v1/experiments/x/report", key: server.adminKey).json
            let lines = report["strategies"] as? [[String: Any]] ?? []
            #expect(Set(lines.compactMap { $0["name"] as? String }) == ["main", "canary"])
            #expect(lines.first { $0["name"] as? String == "canary" }?["plugin_version"] as? String == "1.1.0")
            #expect(lines.first { $0["name"] as? String == "main" }?["plugin_version"] is NSNull)
        }
    }
}
