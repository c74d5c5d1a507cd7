internal import Hummingbird
internal import HTTPTypes
internal import JSON
internal import NIOCore

/// Reading JSON request bodies and writing JSON responses. A body that is too
/// large, not JSON, or not of the expected shape is answered with a 4xx whose
/// message and `field` name the problem; nothing has been done at that point.
public enum JSONBody {
    /// Reads the request's body as `T`, refusing bodies over `limit` bytes.
    static func decode<T: JSONReadable>(_ type: T.Type, from request: Request, limit: Int) async throws -> T {
        try await decode(type, from: request, limit: limit, optional: false)!
    }

    /// Reads the request's body as `T`; when `optional`, a request without
    /// a body (no bytes) gives nil.
    static func decode<T: JSONReadable>(_ type: T.Type, from request: Request, limit: Int, optional: Bool) async throws -> T? {
        // The body's parts, read in one loop (a body sent with its head is one part).
        var body: ByteBuffer?
        for try await part in request.body {
            guard (body?.readableBytes ?? 0) + part.readableBytes <= limit else {
                throw APIError(.contentTooLarge, "body_too_large", "the request body is larger than the limit of \(limit) bytes")
            }
            if body == nil { body = part } else { body!.writeImmutableBuffer(part) }
        }
        guard let buffer = body, buffer.readableBytes > 0 else {
            if optional { return nil }
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
    static func response(writing value: some JSONWritable, status: HTTPResponse.Status = .ok) -> Response {
        var writer = JSONWriter()
        value.write(to: &writer)
        return response(buffer: writer.withUnsafeBytes { ByteBuffer(bytes: $0) }, status: status)
    }

    /// A response whose body is already JSON.
    static func response(bytes: some Sequence<UInt8>, status: HTTPResponse.Status = .ok) -> Response {
        response(buffer: ByteBuffer(bytes: bytes), status: status)
    }

    /// A response whose body is already JSON.
    static func response(buffer: ByteBuffer, status: HTTPResponse.Status = .ok) -> Response {
        var headers = HTTPFields()
        headers.reserveCapacity(2)
        headers.append(jsonContentType)
        // Appended here, so `Response` finds it instead of setting it through
        // the name subscript (a search, a removal and an insertion).
        headers.append(HTTPField(name: .contentLength, value: String(buffer.readableBytes)))
        return Response(status: status, headers: headers, body: .init(byteBuffer: buffer))
    }

    /// Built once: an `HTTPField` checks its value when made.
    private static let jsonContentType = HTTPField(name: .contentType, value: "application/json; charset=utf-8")
}
