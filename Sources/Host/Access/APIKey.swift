internal import Crypto
internal import FoundationEssentials

/// An API key: `arb_<id>_<secret>`. The id is public (it names the key in
/// listings and logs); the secret is 32 random bytes, shown once at creation,
/// and stored only as its SHA-256.
public struct APIKey: Sendable, Equatable {
    public static let prefix = "arb_"

    /// 16 hex characters.
    public let id: String
    /// 43 base64url characters.
    public let secret: String

    /// A new key from the system's secure random source.
    public static func generate() -> APIKey {
        var generator = SystemRandomNumberGenerator()
        let idBytes = (0..<8).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        let secretBytes = (0..<32).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
        return APIKey(id: hexString(idBytes), secret: base64URL(secretBytes))
    }

    /// The token a client sends: `Authorization: Bearer <token>`.
    public var token: String { "\(Self.prefix)\(id)_\(secret)" }

    /// Parses a token; nil when it does not have the key's shape.
    public init?(token: String) {
        guard token.hasPrefix(Self.prefix) else { return nil }
        let rest = token.dropFirst(Self.prefix.count)
        guard let separator = rest.firstIndex(of: "_") else { return nil }
        let id = String(rest[..<separator])
        let secret = String(rest[rest.index(after: separator)...])
        guard id.utf8.count == 16, id.utf8.allSatisfy(isHexDigit), secret.utf8.count == 43,
              secret.utf8.allSatisfy(isBase64URL) else { return nil }
        self.id = id
        self.secret = secret
    }

    init(id: String, secret: String) {
        self.id = id
        self.secret = secret
    }

    /// SHA-256 of the secret.
    public var secretDigest: [UInt8] {
        Array(SHA256.hash(data: Array(secret.utf8)))
    }

    /// SHA-256 of the secret, hex: what the database keeps.
    public var secretHash: String {
        hexString(secretDigest)
    }

    /// Whether this key's secret hashes to `storedDigest` (the stored hash,
    /// decoded), comparing every byte whatever the outcome (constant time), so
    /// response timing reveals nothing about how much of a guess was right.
    public func matches(storedDigest: [UInt8]) -> Bool {
        var secret = secret
        let digest = secret.withUTF8 { SHA256.hash(data: UnsafeRawBufferPointer($0)) }
        return digest.withUnsafeBytes { computed in
            guard computed.count == storedDigest.count else { return false }
            var difference: UInt8 = 0
            for index in 0..<computed.count {
                difference |= computed[index] ^ storedDigest[index]
            }
            return difference == 0
        }
    }

    /// The bytes of a hex string; nil when it is not one.
    public static func digest(hex: String) -> [UInt8]? {
        let utf8 = Array(hex.utf8)
        guard utf8.count % 2 == 0 else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count / 2)
        for index in stride(from: 0, to: utf8.count, by: 2) {
            guard let high = nibble(utf8[index]), let low = nibble(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
        }
        return bytes
    }
}

private func isHexDigit(_ byte: UInt8) -> Bool {
    nibble(byte) != nil
}

private func nibble(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
    default: nil
    }
}

private func isBase64URL(_ byte: UInt8) -> Bool {
    switch byte {
    case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
         UInt8(ascii: "-"), UInt8(ascii: "_"): true
    default: false
    }
}

private func hexString(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var text: [UInt8] = []
    text.reserveCapacity(bytes.count * 2)
    for byte in bytes {
        text.append(digits[Int(byte >> 4)])
        text.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: text, as: UTF8.self)
}

private func base64URL(_ bytes: [UInt8]) -> String {
    String(Data(bytes).base64EncodedString().compactMap { character -> Character? in
        switch character {
        case "+": "-"
        case "/": "_"
        case "=": nil
        default: character
        }
    })
}
