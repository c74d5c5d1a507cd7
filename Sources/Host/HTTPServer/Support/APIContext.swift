public import Hummingbird
internal import Access

/// The request context of Arbiter's routes.
public struct APIContext: RequestContext {
    public var coreContext: CoreRequestContextStorage
    /// The path parameters of the route the request matched.
    var pathParameters = PathParameters()

    public init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
    }

    /// The value of the matched route's path parameter `name`, percent-decoded.
    func path(_ name: String) throws(APIError) -> String {
        guard let raw = pathParameters.value(name) else { throw APIError.badRequest("missing path parameter \(name)", field: name) }
        guard let value = URLDecoding.decode(raw) else {
            throw APIError.badRequest("the path parameter '\(name)' is not valid percent-encoded UTF-8", field: name)
        }
        return value
    }
}

/// Who may call a route.
enum RouteAccess: Sendable {
    /// Anyone (health, readiness, metrics, the API document).
    case open
    /// Any valid key: the caller acts for its key's tenant.
    case tenant
    /// An admin key of the tenant.
    case admin
}

/// The authenticated caller of a route.
struct Caller: Sendable {
    /// The tenant the key belongs to (empty for open routes).
    var tenant: String
    var principal: Principal?
}

/// One route as registered: what the OpenAPI document must describe.
public struct RouteDescription: Sendable, Hashable, Comparable, CustomStringConvertible {
    public let method: String
    /// The path in OpenAPI form, e.g. `/v1/experiments/{key}`.
    public let path: String

    public static func < (lhs: RouteDescription, rhs: RouteDescription) -> Bool {
        (lhs.path, lhs.method) < (rhs.path, rhs.method)
    }

    public var description: String { "\(method) \(path)" }
}
