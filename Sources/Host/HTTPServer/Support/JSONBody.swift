internal import Hummingbird
internal import FoundationEssentials
internal import PluginHost
internal import NIOCore

/// Reading JSON request bodies and writing JSON responses. A body that is too
/// large, not JSON, or not of the expected shape is answered with a 4xx whose
/// message and `field` name the problem; nothing has been done at that point.
public enum JSONBody {
    /// Reads the request's body as `T`, refusing bodies over `limit` bytes.
    static func decode<T: JSONReadable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        // The body's parts, read in one loop (a body sent with its head is one part).
        var body: ByteBuffer?
        for try await part in request.body {
            guard (body?.readableBytes ?? 0) + part.readableBytes <= limit else {
                throw APIError(.contentTooLarge, "body_too_large", "the request body is larger than the limit of \(limit) bytes")
            }
            if body == nil { body = part } else { body!.writeImmutableBuffer(part) }
        }
        guard let buffer = body, buffer.readableBytes > 0 else {
            throw APIError.badRequest("the request body is empty; a JSON object is expected")
        }
        let common = buffer.withUnsafeReadableBytes { raw in T.read(common: raw.bindMemory(to: UInt8.self)) }
        if let common { return common }
        let parsed: Result<JSONValue, JSONParser.SyntaxError> = buffer.withUnsafeReadableBytes { raw in
            Result { () throws(JSONParser.SyntaxError) in try JSONParser.parse(raw.bindMemory(to: UInt8.self)) }
        }
        switch parsed {
        case let .success(value):
            return try T(json: value, path: "")
        case let .failure(error):
            throw APIError(.badRequest, "invalid_json", "the request body is not valid JSON: \(error)")
        }
    }

    /// A JSON response.
    static func response(_ value: some Encodable, status: HTTPResponse.Status = .ok) -> Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
        return response(bytes: data, status: status)
    }
}
