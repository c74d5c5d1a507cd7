public import Hummingbird
internal import Engine
internal import FoundationEssentials

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

    struct Body: Encodable {
        struct Detail: Encodable {
            let status: Int
            let code: String
            let message: String
            let field: String?
        }

        let error: Detail
    }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        let body = Body(error: .init(status: status.code, code: code, message: message, field: field))
        var response = JSONBody.response(body, status: status)
        for header in headers { response.headers.append(header) }
        return response
    }

    /// The error's object (what `Body` holds under `error`, its keys in the
    /// same sorted order), for a response that carries more than the error.
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

    /// The answer for an engine refusal; `field` names the request field the
    /// route took the refused value from.
    static func from(_ error: EngineError, field: String? = nil) -> APIError {
        switch error {
        case .unknownTenant, .unknownExperiment:
            return notFound(error.description, field: field ?? "key")
        case .unknownStrategy, .unknownVersion:
            return notFound(error.description, field: field)
        case .experimentExists:
            return APIError(.conflict, "already_exists", error.description, field: "key")
        case .experimentArchived:
            return APIError(.conflict, "archived", error.description, field: "key")
        case .unknownArm, .invalidArms:
            return badRequest(error.description, field: field ?? "arms")
        case .invalidStrategy:
            return badRequest(error.description, field: field ?? "strategies")
        case let .invalidRequest(message, requestField):
            return badRequest(message, field: field ?? requestField)
        case .overloaded:
            var refusal = APIError(.serviceUnavailable, "overloaded", error.description)
            refusal.headers[.retryAfter] = "1"
            return refusal
        case .shuttingDown:
            var refusal = APIError(.serviceUnavailable, "shutting_down", error.description)
            refusal.headers[.retryAfter] = "1"
            return refusal
        case .storage:
            return APIError(.internalServerError, "storage_error", error.description)
        }
    }
}
