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
        return APIKey(id: idBytes.map(hex).joined(), secret: base64URL(secretBytes))
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
        guard id.count == 16, id.allSatisfy(\.isHexDigit), secret.count == 43,
              secret.utf8.allSatisfy({ base64URLAlphabet.contains($0) }) else { return nil }
        self.id = id
        self.secret = secret
    }

    init(id: String, secret: String) {
        self.id = id
        self.secret = secret
    }

    /// SHA-256 of the secret, hex: what the database keeps.
    public var secretHash: String {
        SHA256.hash(data: Array(secret.utf8)).map(hex).joined()
    }

    /// Whether this key's secret hashes to `storedHash`, comparing every byte
    /// whatever the outcome (constant time), so response timing reveals
    /// nothing about how much of a guess was right.
    public func matches(storedHash: String) -> Bool {
        let computed = Array(secretHash.utf8)
        let stored = Array(storedHash.utf8)
        guard computed.count == stored.count else { return false }
        var difference: UInt8 = 0
        for index in computed.indices {
            difference |= computed[index] ^ stored[index]
        }
        return difference == 0
    }
}

private let base64URLAlphabet = Set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_".utf8)

private func hex(_ byte: UInt8) -> String {
    let digits = Array("0123456789abcdef")
    return String([digits[Int(byte >> 4)], digits[Int(byte & 0x0F)]])
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
