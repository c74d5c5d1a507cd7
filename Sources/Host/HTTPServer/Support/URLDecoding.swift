internal import Hummingbird

/// Percent-decoding of the parts of a request target (RFC 3986): path
/// parameters, and query values, where a `+` is also a space (HTML forms,
/// Python's `urlencode`). A name with a space or a slash (both allowed in
/// experiment keys and task types) reaches its route encoded.
enum URLDecoding {
    /// `text` with each `%XX` replaced by its byte and, when `plusIsSpace`,
    /// each `+` by a space; nil when a `%` is not followed by two hex digits
    /// or the bytes are not UTF-8.
    static func decode(_ text: Substring, plusIsSpace: Bool = false) -> String? {
        let percent = UInt8(ascii: "%"), plus = UInt8(ascii: "+")
        guard text.utf8.contains(where: { $0 == percent || (plusIsSpace && $0 == plus) }) else { return String(text) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        var iterator = text.utf8.makeIterator()
        while let byte = iterator.next() {
            if byte == percent {
                guard let high = iterator.next().flatMap(hexValue), let low = iterator.next().flatMap(hexValue) else { return nil }
                bytes.append(high << 4 | low)
            } else {
                bytes.append(plusIsSpace && byte == plus ? UInt8(ascii: " ") : byte)
            }
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func hexValue(_ digit: UInt8) -> UInt8? {
        switch digit {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): digit - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): digit - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): digit - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// The decoded value of the first query parameter `name` of `request`.
    static func query(_ name: String, of request: Request) throws(APIError) -> String? {
        for pair in request.uri.query?.split(separator: "&") ?? [] {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            guard decode(parts[0], plusIsSpace: true) == name else { continue }
            guard let value = decode(parts.count > 1 ? parts[1] : "", plusIsSpace: true) else {
                throw APIError.badRequest("the query parameter '\(name)' is not valid percent-encoded UTF-8", field: name)
            }
            return value
        }
        return nil
    }

    /// The page a list request asks for: `cursor` (from the previous page's
    /// `next`) and `limit` (1 to 1,000, default 100).
    static func page(of request: Request) throws(APIError) -> (cursor: String?, limit: Int) {
        let cursor = try query("cursor", of: request)
        guard let text = try query("limit", of: request) else { return (cursor, 100) }
        guard let limit = Int(text), (1...1_000).contains(limit) else {
            throw APIError.badRequest("limit must be an integer from 1 to 1000, not '\(text.prefix(20))'", field: "limit")
        }
        return (cursor, limit)
    }
}
