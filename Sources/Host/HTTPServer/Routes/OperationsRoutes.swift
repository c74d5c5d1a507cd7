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
            let text = server.metrics.render(engine: engine, connections: server.connections)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
        add(.get, "/openapi.yaml", .open) { _, _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_yaml)))
        }
        add(.get, "/v1/plugins", .admin) { _, _, _ in
            JSONBody.response(writing: PluginListing(engine.catalog))
        }
        add(.get, "/v1/tenant", .tenant) { _, _, caller in
            guard let tenant = engine.tenant(named: caller.tenant) else { throw APIError.notFound("unknown tenant") }
            return JSONBody.response(writing: TenantResponse(tenant: tenant))
        }
        add(.put, "/v1/tenant/default-strategy", .admin, names: .strategyMembers) { request, _, caller in
            let input = try await server.body(DefaultStrategyRequest.self, of: request)
            let tenant = try await engine.setDefaultStrategy(tenant: caller.tenant, plugin: input.plugin, config: input.config?.text ?? "{}")
            return JSONBody.response(writing: TenantResponse(tenant: tenant))
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

    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("name"); w.string(tenant.name)
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
