internal import FoundationEssentials

/// Any key of a JSON object, to list the keys a client sent.
struct AnyKey: CodingKey {
    var stringValue: String
    var intValue: Int? { nil }
    init(stringValue: String) { self.stringValue = stringValue }
    init?(intValue: Int) { nil }
}

extension Decoder {
    /// The object's keyed container, after refusing any key not in `Keys`:
    /// a misspelt field is an error, not a silently ignored one.
    func strictContainer<Keys: CodingKey & CaseIterable>(_ keys: Keys.Type) throws -> KeyedDecodingContainer<Keys> {
        let all = try container(keyedBy: AnyKey.self)
        let allowed = Set(Keys.allCases.map(\.stringValue))
        for key in all.allKeys where !allowed.contains(key.stringValue) {
            let known = Keys.allCases.map(\.stringValue).joined(separator: ", ")
            throw DecodingError.dataCorrupted(.init(
                codingPath: codingPath + [key],
                debugDescription: "unknown field; the fields here are: \(known)"))
        }
        return try container(keyedBy: Keys.self)
    }
}

/// A context vector: an array of numbers, or an object of numbers (read in
/// the order of its sorted keys).
struct ContextInput: Decodable {
    let values: [Double]

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let array = try? container.decode([Double].self) {
            values = array
        } else if let object = try? container.decode([String: Double].self) {
            values = object.keys.sorted().map { object[$0]! }
        } else {
            throw DecodingError.typeMismatch([Double].self, .init(
                codingPath: decoder.codingPath, debugDescription: "an array of numbers or an object of numbers"))
        }
    }
}
