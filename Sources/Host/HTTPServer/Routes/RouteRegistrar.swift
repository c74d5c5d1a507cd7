internal import Access
internal import Engine
internal import FoundationEssentials
internal import Hummingbird
internal import Storage

/// Registers routes in the route table and keeps the list of what it
/// registered (the OpenAPI document must describe exactly these). Every route
/// declares who may call it; authentication happens before its handler runs.
struct RouteRegistrar {
    let table = RouteTable<APIResponder.Handler>.Builder()
    let server: APIServer
    private(set) var routes: [RouteDescription] = []

    init(server: APIServer) {
        self.server = server
    }

    typealias Handler = @Sendable (Request, APIContext, Caller) async throws -> Response

    /// Registers `handler` for `method` on `path`, written in OpenAPI form
    /// (`/v1/experiments/{key}`). What the engine refuses is answered with
    /// the field named as `names` writes the engine's inputs.
    mutating func add(_ method: HTTPRequest.Method, _ path: String, _ access: RouteAccess, names: FieldNames = .standard,
                      _ handler: @escaping Handler) {
        routes.append(RouteDescription(method: method.rawValue.lowercased(), path: path))
        let server = self.server
        table.add(method, path) { request, context in
            let caller = try server.authenticate(request, access: access)
            do {
                return try await handler(request, context, caller)
            } catch let error as EngineError {
                throw APIError(error, names: names)
            }
        }
    }
}

extension APIServer {
    /// Checks the request's API key against the route's access level.
    func authenticate(_ request: Request, access: RouteAccess) throws -> Caller {
        guard access != .open else { return Caller(tenant: "", principal: nil) }
        let principal: Principal
        do {
            principal = try keys.authenticate(header: Self.authorization(request.headers))
        } catch {
            let message = switch error {
            case .missing: "an API key is required: Authorization: Bearer <key>"
            case .malformed: "the Authorization header must be 'Bearer <key>' with an Arbiter key (arb_...)"
            case .unknown: "the API key is not valid"
            case .revoked: "the API key was revoked"
            }
            var refusal = APIError(.unauthorized, "unauthorized", message, field: "Authorization")
            refusal.headers[.wwwAuthenticate] = "Bearer"
            throw refusal
        }
        guard let tenant = try engine.tenant(id: principal.tenantID) else {
            throw APIError(.unauthorized, "unauthorized", "the API key's tenant no longer exists", field: "Authorization")
        }
        if access == .admin, !principal.admin {
            throw APIError(.forbidden, "forbidden", "this operation needs an admin key", field: "Authorization")
        }
        return Caller(tenant: tenant.name, principal: principal)
    }

    /// The value of the request's one `Authorization` header. Found by walking
    /// the fields: the name subscript of `HTTPFields` joins every match into a
    /// new string, measurably slower on the decision path.
    static func authorization(_ headers: HTTPFields) throws(AuthenticationFailure) -> String? {
        var value: String?
        for field in headers where field.name == .authorization {
            guard value == nil else { throw .malformed }
            value = field.value
        }
        return value
    }

    /// The decoded body, within the configured size limit.
    func body<T: JSONReadable>(_ type: T.Type, of request: Request) async throws -> T {
        try await JSONBody.decode(type, from: request, limit: configuration.maxBodyBytes)
    }

    /// The decoded body, or nil when the request has none (no bytes at all).
    func optionalBody<T: JSONReadable>(_ type: T.Type, of request: Request) async throws -> T? {
        try await JSONBody.decode(type, from: request, limit: configuration.maxBodyBytes, optional: true)
    }
}
