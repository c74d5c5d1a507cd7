import ArgumentParser
import FoundationEssentials
import JSON
import Logging
import PluginHost

/// `arbiter plugins`: what loads and what is refused; `reload` and
/// `activate` change the versions a running server serves.
struct PluginsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "plugins",
        abstract: "List the strategy plugins, or reload and activate versions on a running server.",
        subcommands: [List.self, Reload.self, Activate.self],
        defaultSubcommand: List.self
    )

    /// `arbiter plugins [list]`: the plugins of the directory, loaded here.
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "List the strategy plugins that load, and every library refused with its reason."
        )

        @OptionGroup var plugins: PluginOptions

        @Option(help: "Output format: table or json.")
        var format: ListFormat = .table

        @Flag(help: "Ask the running server (--server) instead: every version it has loaded, which is active, where each is used.")
        var running = false

        @OptionGroup var server: ServerOptions

        enum ListFormat: String, ExpressibleByArgument, CaseIterable { case table, json }

        func run() throws {
            if running {
                let answer = try server.send("GET", "/v1/plugins", body: nil, printing: format == .json)
                guard format == .table else { return }
                let versions = answer.objectValue?["versions"]?.arrayValue ?? []
                print("Versions loaded (\(versions.count)):")
                for version in versions.compactMap(\.objectValue) {
                    let active = version["active"] == .bool(true) ? "active" : "resident"
                    let experiments = version["experiments"]?.arrayValue?.compactMap(\.stringValue).joined(separator: ", ") ?? ""
                    let strategies = Int(version["strategies"]?.numberValue ?? 0)
                    print("  \(version["name"]?.stringValue ?? "") \(version["version"]?.stringValue ?? "") (\((version["sha256"]?.stringValue ?? "").prefix(12)))  \(active)"
                          + "  \(strategies) \(strategies == 1 ? "strategy" : "strategies") in memory\(experiments.isEmpty ? "" : ": \(experiments)")")
                    print("    file: \(version["file"]?.stringValue ?? ""), loaded from \(version["loaded_from"]?.stringValue ?? "")")
                }
                let refused = answer.objectValue?["refused"]?.arrayValue ?? []
                print("Refused (\(refused.count)):")
                for refusal in refused.compactMap(\.objectValue) {
                    print("  \(refusal["file"]?.stringValue ?? "")")
                    print("    \(refusal["reason"]?.stringValue ?? "")")
                }
                return
            }
            let catalog = plugins.load(logLevel: .critical)
            switch format {
            case .json:
                print(PluginListing(catalog).json)
            case .table:
                print("Loaded (\(catalog.plugins.count)), host ABI \(hostABIVersion):")
                for plugin in catalog.plugins {
                    print("  \(plugin.name) \(plugin.version)  ABI \(plugin.abiVersion)  state format \(plugin.stateFormatVersion)  \(plugin.language)"
                          + (plugin.givesProbabilities ? "" : "  (no probabilities: cannot be evaluated off-policy)"))
                    print("    file: \(plugin.path)")
                    print("    toolchain: \(plugin.toolchain)")
                }
                print("Refused (\(catalog.refused.count)):")
                for refusal in catalog.refused {
                    print("  \(refusal.path)")
                    print("    \(refusal.reason)")
                }
            }
        }
    }

    /// `arbiter plugins reload`: `POST /v1/plugins/reload` on a running server.
    struct Reload: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask a running server to load the new builds in its plugin directory and put them in service after their check.",
            discussion: "Exits with status 1 when a new version was refused (the old one keeps serving); the reasons are printed."
        )

        @OptionGroup var server: ServerOptions

        @Flag(help: "Start fresh the strategies whose state a new version cannot read, instead of refusing it.")
        var startFresh = false

        @Flag(inversion: .prefixedNo, help: "Put the new versions in service (--no-activate: check them and keep them loaded for strategies pinned to them, a canary).")
        var activate = true

        func run() throws {
            let body = JSONValue.object(["start_fresh": .bool(startFresh), "activate": .bool(activate)]).text
            let answer = try server.send("POST", "/v1/plugins/reload", body: body)
            let upgrades = answer.objectValue?["upgrades"]?.arrayValue ?? []
            let refused = upgrades.contains { $0.objectValue?["outcome"]?.stringValue == "refused" }
            if refused { throw ExitCode(1) }
        }
    }

    /// `arbiter plugins activate NAME VERSION`: `POST /v1/plugins/{name}/activate`.
    struct Activate: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Ask a running server to put a resident version of a plugin in service (a downgrade, or a version loaded but not active)."
        )

        @OptionGroup var server: ServerOptions

        @Argument(help: "The plugin's name.")
        var name: String

        @Argument(help: "The version, MAJOR.MINOR.PATCH.")
        var version: String

        @Option(help: "The build's SHA-256 (a prefix is enough), when several builds of that version are resident.")
        var sha256: String?

        @Flag(help: "Start fresh the strategies whose state that version cannot read, instead of refusing it.")
        var startFresh = false

        func run() throws {
            var members: [String: JSONValue] = ["version": .string(version)]
            if let sha256 { members["sha256"] = .string(sha256) }
            if startFresh { members["start_fresh"] = .bool(true) }
            // Plugin names are [a-z0-9-]: a path segment as they are.
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLowercase || $0.isNumber || $0 == "-") }) else {
                throw ValidationError("a plugin name is [a-z0-9-], got '\(name)'")
            }
            _ = try server.send("POST", "/v1/plugins/\(name)/activate", body: JSONValue.object(members).text)
        }
    }
}

/// Where the running server is and the admin key to reach it with.
struct ServerOptions: ParsableArguments {
    @Option(help: "The server, http://HOST:PORT.")
    var server = "http://127.0.0.1:8080"

    @Option(help: "An admin API key (default: $ARBITER_KEY, else the data directory's bootstrap-key file).")
    var key: String?

    @Option(name: .customLong("data-dir"), help: "The server's data directory, for its bootstrap key.")
    var dataDirectory = "data"

    /// Sends the request, prints the answer's JSON, and returns it; a
    /// non-2xx answer is an error naming the server's message.
    func send(_ method: String, _ path: String, body: String?, printing: Bool = true) throws -> JSONValue {
        let key = try self.key ?? ProcessInfo.processInfo.environment["ARBITER_KEY"]
            ?? {
                guard let data = FileManager.default.contents(atPath: dataDirectory + "/bootstrap-key") else {
                    throw ValidationError("no --key given, no ARBITER_KEY, and no \(dataDirectory)/bootstrap-key to read")
                }
                return String(String(decoding: data, as: UTF8.self).filter { !$0.isWhitespace })
            }()
        let answer = try ServerClient(url: server, key: key).send(method, path, body: body)
        let json = JSONValue(parsing: answer.body)
        if printing || !(200..<300).contains(answer.status) { print(json.map { JSONWriter.text(of: $0, pretty: true) } ?? answer.body) }
        guard (200..<300).contains(answer.status) else {
            let message = json?.objectValue?["error"]?.objectValue?["message"]?.stringValue ?? "HTTP \(answer.status)"
            throw CommandFailure("the server answered \(answer.status): \(message)")
        }
        return json ?? .null
    }
}
