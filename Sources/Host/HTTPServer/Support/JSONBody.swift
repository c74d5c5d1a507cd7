internal import Hummingbird
internal import FoundationEssentials
internal import NIOCore

/// Reading JSON request bodies and writing JSON responses. A body that is too
/// large, not JSON, or not of the expected shape is answered with a 4xx whose
/// message and `field` name the problem; nothing has been done at that point.
public enum JSONBody {
    /// Decodes the request's body as `T`, refusing bodies over `limit` bytes.
    static func decode<T: Decodable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch {
            throw APIError(.contentTooLarge, "body_too_large", "the request body is larger than the limit of \(limit) bytes")
        }
        guard buffer.readableBytes > 0 else {
            throw APIError.badRequest("the request body is empty; a JSON object is expected")
        }
        do {
            return try JSONDecoder().decode(T.self, from: Data(buffer.readableBytesView))
        } catch let error as DecodingError {
            throw describe(error)
        } catch let error as APIError {
            throw error
        } catch {
            throw APIError(.badRequest, "invalid_json", "the request body is not valid JSON")
        }
    }

    /// A `DecodingError` as a 400 naming the field.
    static func describe(_ error: DecodingError) -> APIError {
        func path(_ codingPath: [any CodingKey]) -> String? {
            guard !codingPath.isEmpty else { return nil }
            var text = ""
            for key in codingPath {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += text.isEmpty ? key.stringValue : "." + key.stringValue
                }
            }
            return text
        }
        switch error {
        case let .keyNotFound(key, context):
            let field = path(context.codingPath + [key]) ?? key.stringValue
            return APIError(.badRequest, "missing_field", "'\(field)' is required", field: field)
        case let .typeMismatch(type, context):
            let field = path(context.codingPath)
            return APIError(.badRequest, "wrong_type", "\(field.map { "'\($0)'" } ?? "the body") must be \(describe(type))", field: field)
        case let .valueNotFound(type, context):
            let field = path(context.codingPath)
            return APIError(.badRequest, "wrong_type", "\(field.map { "'\($0)'" } ?? "the body") must be \(describe(type)), not null", field: field)
        case let .dataCorrupted(context):
            let field = path(context.codingPath)
            if field == nil {
                return APIError(.badRequest, "invalid_json", "the request body is not valid JSON")
            }
            return APIError(.badRequest, "invalid_value", "'\(field!)': \(context.debugDescription)", field: field)
        @unknown default:
            return APIError(.badRequest, "invalid_json", "the request body could not be read")
        }
    }

    private static func describe(_ type: Any.Type) -> String {
        switch type {
        case is String.Type: "a string"
        case is Double.Type, is Float.Type: "a number"
        case is Int.Type, is Int64.Type, is UInt64.Type: "an integer"
        case is Bool.Type: "true or false"
        case is [Any].Type: "an array"
        default:
            String(describing: type).hasPrefix("Array") ? "an array" : "an object"
        }
    }

    /// A JSON response.
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return Response(
            status: status,
            headers: [.contentType: "application/json; charset=utf-8", .contentLength: String(data.count)],
            body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}
