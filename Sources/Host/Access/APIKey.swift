internal import Crypto
internal import FoundationEssentials

/// An API key: `arb_<id>_<secret>`. The id is public (it names the key in
/// listings and logs); the secret is 32 random bytes, shown once at creation,
/// and stored only as its SHA-256.
public struct APIKey: Sendable, Equatable {
    public static let prefix = "\(prefixBytes)"
    private static let prefixBytes: StaticString = "arb_"

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

    /// Whether `secret` hashes to `storedDigest`, comparing every byte
    /// whatever the outcome (constant time), so response timing reveals
    /// nothing about how much of a guess was right.
    static func secret(_ secret: UnsafeBufferPointer<UInt8>, hashesTo storedDigest: [UInt8]) -> Bool {
        let digest = SHA256.hash(data: UnsafeRawBufferPointer(secret))
        return digest.withUnsafeBytes { computed in
            storedDigest.withUnsafeBytes { stored in constantTimeEqual(computed, stored) }
        }
    }

    /// The key id (as a number) and secret of an `Authorization` header value,
    /// `Bearer arb_<16 hex>_<43 base64url>` with the scheme in any case; nil
    /// when the value does not have that shape. Reads bytes in place: this runs
    /// on every request.
    static func parse(authorization value: UnsafeBufferPointer<UInt8>) -> (id: UInt64, secret: UnsafeBufferPointer<UInt8>)? {
        // "bearer" and "arb_", compared through their static bytes (a String's
        // UTF-8 view costs more to walk than the rest of the check).
        let scheme: StaticString = "bearer"
        let prefix = prefixBytes
        let idStart = scheme.utf8CodeUnitCount + 1 + prefix.utf8CodeUnitCount
        let secretStart = idStart + 16 + 1
        guard value.count == secretStart + 43 else { return nil }
        // Setting bit 5 lower-cases an ASCII letter: "Bearer", "BEARER" and "bearer" all pass.
        for offset in 0..<scheme.utf8CodeUnitCount where value[offset] | 0x20 != scheme.utf8Start[offset] {
            return nil
        }
        guard value[scheme.utf8CodeUnitCount] == UInt8(ascii: " ") else { return nil }
        for offset in 0..<prefix.utf8CodeUnitCount where value[scheme.utf8CodeUnitCount + 1 + offset] != prefix.utf8Start[offset] {
            return nil
        }
        var id: UInt64 = 0
        for offset in idStart..<idStart + 16 {
            // Lowercase only: the id is compared as it was issued.
            guard let digit = lowercaseNibble(value[offset]) else { return nil }
            id = id << 4 | UInt64(digit)
        }
        guard value[idStart + 16] == UInt8(ascii: "_") else { return nil }
        let secret = UnsafeBufferPointer(rebasing: value[secretStart...])
        for byte in secret where !isBase64URL(byte) { return nil }
        return (id, secret)
    }

    /// A key id (16 lowercase hex characters) as the number `parse(authorization:)` reads.
    static func numericID(_ id: String) -> UInt64? {
        guard id.utf8.count == 16, id.utf8.allSatisfy(isHexDigit) else { return nil }
        return UInt64(id, radix: 16)
    }

    /// The text form of a numeric key id.
    static func textID(_ id: UInt64) -> String {
        let digits = String(id, radix: 16)
        return String(repeating: "0", count: 16 - digits.utf8.count) + digits
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

/// Whether two byte sequences are equal, looking at every byte whatever the
/// outcome (the length is not secret).
func constantTimeEqual(_ lhs: UnsafeRawBufferPointer, _ rhs: UnsafeRawBufferPointer) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for index in 0..<lhs.count {
        difference |= lhs[index] ^ rhs[index]
    }
    return difference == 0
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

private func lowercaseNibble(_ byte: UInt8) -> UInt8? {
    switch byte {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
    case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
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
