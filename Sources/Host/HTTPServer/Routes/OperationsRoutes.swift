internal import Access
internal import Engine
internal import Hummingbird
internal import JSON
internal import NIOCore
internal import PluginHost
internal import Storage

extension RouteRegistrar {
    /// Health, readiness, metrics, the API document, plugins and the tenant.
    mutating func registerOperations() {
        let server = self.server
        let engine = server.engine
        // The trivial route: a constant body, so it measures the HTTP stack alone.
        let alive = ByteBuffer(string: #"{"status":"alive"}"#)
        add(.get, "/healthz", .open) { _, _, _ in
            JSONBody.response(buffer: alive)
        }
        add(.get, "/readyz", .open) { _, _, _ in
            engine.isAccepting
                ? JSONBody.response(writing: ReadinessResponse(status: "ready"))
                : JSONBody.response(writing: ReadinessResponse(status: "shutting_down"), status: .serviceUnavailable)
        }
        add(.get, "/metrics", .open) { _, _, _ in
            let text = server.metrics.render(engine: engine, connections: server.connections, kafka: server.kafkaStatus?())
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
        add(.get, "/openapi.yaml", .open) { _, _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_yaml)))
        }
        add(.get, "/v1/plugins", .admin) { _, _, _ in
            JSONBody.response(writing: engine.pluginListing())
        }
        add(.post, "/v1/plugins/reload", .admin) { request, _, caller in
            let input = try await server.optionalBody(PluginChangeRequest.self, of: request) ?? PluginChangeRequest()
            let reload = try await engine.reloadPlugins(startFresh: input.startFresh, activate: input.activate, actor: caller.principal?.keyID)
            return JSONBody.response(writing: PluginReloadResponse(reload: reload))
        }
        add(.post, "/v1/plugins/{name}/activate", .admin) { request, context, caller in
            let name = try context.path("name")
            let input = try await server.body(PluginActivationRequest.self, of: request)
            let upgrade = try await engine.activatePlugin(name: name, version: input.version, sha256: input.sha256,
                                                          startFresh: input.startFresh, actor: caller.principal?.keyID)
            return JSONBody.response(writing: PluginUpgradeJSON(upgrade: upgrade))
        }
        add(.get, "/v1/tenant", .tenant) { _, _, caller in
            guard let tenant = engine.tenant(named: caller.tenant) else { throw APIError.notFound("unknown tenant") }
            return JSONBody.response(writing: TenantResponse(tenant: tenant, admin: caller.principal?.admin ?? false))
        }
        add(.put, "/v1/tenant/default-strategy", .admin, names: .strategyMembers) { request, _, caller in
            let input = try await server.body(DefaultStrategyRequest.self, of: request)
            let tenant = try await engine.setDefaultStrategy(tenant: caller.tenant, plugin: input.plugin, config: input.config?.text ?? "{}",
                                                             actor: caller.principal?.keyID)
            return JSONBody.response(writing: TenantResponse(tenant: tenant, admin: caller.principal?.admin ?? false))
        }
    }
}

struct ReadinessResponse: JSONWritable {
    let status: String

    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("status"); w.string(status)
        }
    }
}

struct TenantResponse: JSONWritable {
    let tenant: TenantRecord
    /// Whether the key that asked is an admin key.
    let admin: Bool

    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("name"); w.string(tenant.name)
            w.key("admin"); w.bool(admin)
            w.key("default_strategy"); w.string(tenant.defaultStrategy)
            w.key("default_config"); w.value(JSONValue(parsing: tenant.defaultConfig) ?? .object([:]))
        }
    }
}

struct DefaultStrategyRequest: JSONReadable {
    let plugin: String
    let config: JSONValue?

    init(json: JSONValue, path: String) throws(APIError) {
        let fields = try JSONFields(json, path: path, allowed: ["plugin", "config"])
        plugin = try fields.string("plugin")
        config = try fields.optionalObject("config")
    }
}

struct PluginChangeRequest: JSONReadable {
    var startFresh = false
    var activate = true

    init() {}

    init(json: JSONValue, path: String) throws(APIError) {
        let fields = try JSONFields(json, path: path, allowed: ["start_fresh", "activate"])
        startFresh = try fields.optionalBool("start_fresh") ?? false
        activate = try fields.optionalBool("activate") ?? true
    }
}

struct PluginActivationRequest: JSONReadable {
    let version: String
    let sha256: String?
    let startFresh: Bool

    init(json: JSONValue, path: String) throws(APIError) {
        let fields = try JSONFields(json, path: path, allowed: ["version", "sha256", "start_fresh"])
        version = try fields.string("version")
        sha256 = try fields.optionalString("sha256")
        startFresh = try fields.optionalBool("start_fresh") ?? false
    }
}

struct PluginUpgradeJSON: JSONWritable {
    let upgrade: PluginUpgrade

    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("plugin"); w.string(upgrade.plugin)
            w.key("from"); w.value(upgrade.from)
            w.key("to"); w.string(upgrade.to)
            w.key("outcome"); w.string(upgrade.outcome.rawValue)
            w.key("reason"); w.value(upgrade.reason)
            w.key("moved"); w.integer(upgrade.moved)
            w.key("started_fresh"); w.array(upgrade.startedFresh) { w, owner in w.string(owner) }
        }
    }
}

struct PluginReloadResponse: JSONWritable {
    let reload: PluginReload

    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("loaded")
            w.array(reload.loaded) { w, plugin in
                w.object { w in
                    w.key("name"); w.string(plugin.name)
                    w.key("version"); w.string(plugin.version.description)
                    w.key("sha256"); w.string(plugin.sha256)
                    w.key("file"); w.string(plugin.path)
                }
            }
            w.key("upgrades"); w.array(reload.upgrades) { w, upgrade in PluginUpgradeJSON(upgrade: upgrade).write(to: &w) }
            w.key("refused")
            w.array(reload.refused) { w, refusal in
                w.object { w in
                    w.key("file"); w.string(refusal.path)
                    w.key("reason"); w.string(refusal.reason)
                }
            }
        }
    }
}
