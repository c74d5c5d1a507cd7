public import Hummingbird
internal import Engine
internal import JSON

/// An error answer: an HTTP status and a JSON body naming the problem,
/// `{"error": {"status": 400, "code": "invalid_request", "message": "...", "field": "events[2].reward"}}`.
public struct APIError: HTTPResponseError, Sendable {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    public let field: String?
    public var headers: HTTPFields = [:]

    public init(_ status: HTTPResponse.Status, _ code: String, _ message: String, field: String? = nil) {
        self.status = status
        self.code = code
        self.message = message
        self.field = field
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        var response = JSONBody.response(writing: ErrorBody(error: self), status: status)
        for header in headers { response.headers.append(header) }
        return response
    }

    /// The error's object, what the body holds under `error`.
    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("code"); w.string(code)
            if let field { w.key("field"); w.string(field) }
            w.key("message"); w.string(message)
            w.key("status"); w.integer(Int(status.code))
        }
    }

    static func badRequest(_ message: String, field: String? = nil) -> APIError {
        APIError(.badRequest, "invalid_request", message, field: field)
    }

    static func notFound(_ message: String, field: String? = nil) -> APIError {
        APIError(.notFound, "not_found", message, field: field)
    }

    /// The answer for an engine refusal. `names` writes the engine's input
    /// paths as the route's request fields (the `/v1` names unless the route
    /// names its inputs otherwise).
    init(_ error: EngineError, names: FieldNames = .standard) {
        func name(_ input: Input) -> String { names.field(InputPath(input)) }
        switch error {
        case .unknownTenant:
            self = APIError.notFound(error.description)
        case .unknownExperiment:
            self = APIError.notFound(error.description, field: name(.key))
        case .unknownStrategy:
            self = APIError.notFound(error.description, field: name(.strategy))
        case .unknownVersion:
            self = APIError.notFound(error.description, field: name(.version))
        case .experimentExists:
            self = APIError(.conflict, "already_exists", error.description, field: name(.key))
        case .experimentArchived:
            self = APIError(.conflict, "archived", error.description, field: name(.key))
        case let .invalid(path, message):
            self = APIError.badRequest(message, field: names.field(path))
        case let .conflict(path, message):
            self = APIError(.conflict, "conflict", message, field: names.field(path))
        case .overloaded:
            self = APIError(.serviceUnavailable, "overloaded", error.description)
            headers[.retryAfter] = "1"
        case .diskFull:
            self = APIError(.serviceUnavailable, "disk_full", error.description + "; free disk space: writes resume by themselves")
            headers[.retryAfter] = "5"
        case .shuttingDown:
            self = APIError(.serviceUnavailable, "shutting_down", error.description)
            headers[.retryAfter] = "1"
        case .storage:
            self = APIError(.internalServerError, "storage_error", error.description)
        case .plugin:
            // A strategy plugin is a component of its own behind the C ABI: its
            // failure is a bad answer from it, as from a server behind a gateway.
            self = APIError(.badGateway, "plugin_error", error.description)
        }
    }
}

/// How a route writes the engine's input paths as its request fields. Most
/// routes use the `/v1` names (`standard`); the seed's predict endpoint names
/// the experiment key `task_type` and the arms `available_agents`.
struct FieldNames: Sendable {
    let field: @Sendable (InputPath) -> String

    static let standard = FieldNames { $0.rendered() }

    /// For a request that sets up one strategy with top-level members
    /// (`plugin`, `config`): `strategies[0].config` is `config`.
    static let strategyMembers = FieldNames { path in
        let components = path.components
        if components.count == 3, components[0] == .member(.strategies), case let .member(member) = components[2] {
            return member.rawValue
        }
        return path.rendered()
    }

    /// The `/v1` names with some top-level inputs renamed.
    static func renaming(_ renamed: [Input: String]) -> FieldNames {
        FieldNames { path in path.rendered { renamed[$0] ?? $0.rawValue } }
    }
}

/// The body of an error answer.
struct ErrorBody: JSONWritable {
    let error: APIError

    func write(to writer: inout JSONWriter) {
        writer.object { w in
            w.key("error")
            error.write(to: &w)
        }
    }
}
