internal import Engine
public import Hummingbird
internal import Logging

/// The server's responder: finds the request's route in the route table,
/// runs it, and turns whatever it throws into a JSON error. Unknown paths are
/// 404s and known paths with another method 405s (with `Allow`), both with a
/// JSON body; unexpected errors become 500s and a log line.
public struct APIResponder: HTTPResponder {
    public typealias Context = APIContext
    typealias Handler = @Sendable (Request, APIContext) async throws -> Response

    let routes: RouteTable<Handler>
    let logger: Logger

    public func respond(to request: Request, context: APIContext) async throws -> Response {
        do {
            // The request target as received when it is a path (`uri.path` builds
            // a new string); an absolute-form target is parsed.
            let target = request.head.path.flatMap { $0.utf8.first == UInt8(ascii: "/") ? $0 : nil } ?? request.uri.path
            switch routes.match(request.method, path: target) {
            case let .route(handler, parameters):
                var context = context
                context.pathParameters = parameters
                let response = try await handler(request, context)
                return request.method == .head ? response.createHeadResponse() : response
            case let .methodNotAllowed(methods):
                var refusal = APIError(.methodNotAllowed, "method_not_allowed",
                                       "\(request.uri.path) does not take \(request.method); it takes \(methods.map(\.rawValue).joined(separator: ", "))")
                refusal.headers[.allow] = methods.map(\.rawValue).joined(separator: ", ")
                throw refusal
            case .notFound:
                throw APIError.notFound("no route \(request.method) \(request.uri.path)")
            }
        } catch {
            return try answer(error, to: request).response(from: request, context: context)
        }
    }

    /// The JSON error for what a route threw.
    private func answer(_ error: any Error, to request: Request) -> APIError {
        switch error {
        case let error as APIError:
            return error
        case let error as HTTPError:
            return APIError(error.status, "http_error", error.body ?? error.status.reasonPhrase)
        case let error as EngineError:
            return APIError(error)
        default:
            logger.error("unexpected error on \(request.method) \(request.uri.path): \(error)")
            return APIError(.internalServerError, "internal_error", "an unexpected error occurred; it was logged")
        }
    }
}
