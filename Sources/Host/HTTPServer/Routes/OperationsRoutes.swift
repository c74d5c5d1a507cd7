internal import Engine
internal import FoundationEssentials
internal import Hummingbird
internal import NIOCore
internal import PluginHost
internal import Storage

extension RouteRegistrar {
    /// Health, readiness, metrics, the API document, plugins and the tenant.
    mutating func registerOperations() {
        let server = self.server
        // The trivial route: a constant body, so it measures the HTTP stack alone.
        let alive = ByteBuffer(string: #"{"status":"alive"}"#)
        add(.get, "/healthz", .open) { _, _, _ in
            JSONBody.response(buffer: alive)
        }
        add(.get, "/readyz", .open) { _, _, _ in
            server.engine.isAccepting
                ? JSONBody.response(["status": "ready"])
                : JSONBody.response(["status": "shutting_down"], status: .serviceUnavailable)
        }
        add(.get, "/metrics", .open) { _, _, _ in
            let text = server.metrics.render(engine: server.engine)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: text)))
        }
        add(.get, "/openapi.yaml", .open) { _, _, _ in
            Response(status: .ok, headers: [.contentType: "application/yaml; charset=utf-8"],
                     body: .init(byteBuffer: ByteBuffer(bytes: PackageResources.openapi_yaml)))
        }
        add(.get, "/v1/plugins", .admin) { _, _, _ in
            JSONBody.response(PluginListing(server.catalog))
        }
        add(.get, "/v1/tenant", .tenant) { _, _, caller in
            guard let tenant = server.engine.tenant(named: caller.tenant) else { throw APIError.notFound("unknown tenant") }
            return JSONBody.response(TenantResponse(name: tenant.name, default_strategy: tenant.defaultStrategy,
                                                    default_config: JSONValue(parsing: tenant.defaultConfig) ?? .object([:])))
        }
        add(.put, "/v1/tenant/default-strategy", .admin) { request, _, caller in
            let input = try await server.body(DefaultStrategyRequest.self, of: request)
            do throws(EngineError) {
                try await server.engine.setDefaultStrategy(tenant: caller.tenant, plugin: input.plugin, config: input.config?.text ?? "{}")
            } catch {
                throw APIError.from(error, field: "plugin")
            }
            let tenant = server.engine.tenant(named: caller.tenant)!
            return JSONBody.response(TenantResponse(name: tenant.name, default_strategy: tenant.defaultStrategy,
                                                    default_config: JSONValue(parsing: tenant.defaultConfig) ?? .object([:])))
        }
    }
}

struct TenantResponse: Encodable {
    let name: String
    let default_strategy: String
    let default_config: JSONValue
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

