internal import Hummingbird
internal import JSON

/// A request body type read from a parsed JSON value.
protocol JSONReadable {
    /// Reads the value at `path` ("" for the body itself); throws an
    /// `APIError` naming the field at fault.
    init(json: JSONValue, path: String) throws(APIError)

    /// A faster read of a body of the commonest shape, straight from its
    /// bytes; nil for any other body, which is then parsed and read with
    /// `init(json:path:)`. It must agree with that initialiser on every body
    /// it accepts.
    static func read(common bytes: UnsafeBufferPointer<UInt8>) -> Self?
}

extension JSONReadable {
    static func read(common bytes: UnsafeBufferPointer<UInt8>) -> Self? { nil }
}

/// The members of one JSON object of a request, read with their field path
/// so that every error names the field: `events[3].reward`. Unknown members
/// are refused (a misspelt field is an error, not a silently ignored one).
struct JSONFields {
    let members: [String: JSONValue]
    let path: String

    /// - Parameter allowed: the member names this object may have.
    init(_ value: JSONValue, path: String, allowed: [String]) throws(APIError) {
        guard case let .object(members) = value else {
            throw Self.wrongType(path, expected: "an object", got: value)
        }
        for key in members.keys where !allowed.contains(key) {
            let field = Self.join(path, key)
            throw APIError(.badRequest, "unknown_field", "'\(field)' is not a field here; the fields are: \(allowed.joined(separator: ", "))", field: field)
        }
        self.members = members
        self.path = path
    }

    static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : path + "." + key
    }

    func field(_ key: String) -> String { Self.join(path, key) }

    static func wrongType(_ field: String, expected: String, got value: JSONValue) -> APIError {
        APIError(.badRequest, "wrong_type", "\(field.isEmpty ? "the body" : "'\(field)'") must be \(expected), not \(value.kindDescription)",
                 field: field.isEmpty ? nil : field)
    }

    /// The member, refusing a missing one. Null is refused like a missing
    /// member: no field of the API is nullable in requests.
    func required(_ key: String) throws(APIError) -> JSONValue {
        guard let value = members[key], value != .null else {
            throw APIError(.badRequest, "missing_field", "'\(field(key))' is required", field: field(key))
        }
        return value
    }

    /// The member, nil when absent. An optional member that is present must
    /// have its type: null is refused, as the API document allows no null in
    /// a request.
    func optional(_ key: String) throws(APIError) -> JSONValue? {
        guard let value = members[key] else { return nil }
        guard value != .null else {
            throw APIError(.badRequest, "wrong_type", "'\(field(key))' must not be null; leave it out instead", field: field(key))
        }
        return value
    }

    func string(_ key: String) throws(APIError) -> String {
        try Self.string(try required(key), field(key))
    }

    func optionalString(_ key: String) throws(APIError) -> String? {
        guard let value = try optional(key) else { return nil }
        return try Self.string(value, field(key))
    }

    func number(_ key: String) throws(APIError) -> Double {
        try Self.number(try required(key), field(key))
    }

    func optionalNumber(_ key: String) throws(APIError) -> Double? {
        guard let value = try optional(key) else { return nil }
        return try Self.number(value, field(key))
    }

    func optionalInteger(_ key: String) throws(APIError) -> Int? {
        guard let value = try optional(key) else { return nil }
        let number = try Self.number(value, field(key))
        guard number == number.rounded(), abs(number) < 1e15 else {
            throw APIError(.badRequest, "wrong_type", "'\(field(key))' must be an integer", field: field(key))
        }
        return Int(number)
    }

    func integer(_ key: String) throws(APIError) -> Int {
        _ = try required(key)
        return try optionalInteger(key)!
    }

    func optionalBool(_ key: String) throws(APIError) -> Bool? {
        guard let value = try optional(key) else { return nil }
        guard case let .bool(bool) = value else { throw Self.wrongType(field(key), expected: "true or false", got: value) }
        return bool
    }

    func strings(_ key: String) throws(APIError) -> [String] {
        try Self.strings(try required(key), field(key))
    }

    func optionalStrings(_ key: String) throws(APIError) -> [String]? {
        guard let value = try optional(key) else { return nil }
        return try Self.strings(value, field(key))
    }

    /// The elements of an array member.
    func optionalArray(_ key: String) throws(APIError) -> [JSONValue]? {
        guard let value = try optional(key) else { return nil }
        guard case let .array(elements) = value else { throw Self.wrongType(field(key), expected: "an array", got: value) }
        return elements
    }

    func array(_ key: String) throws(APIError) -> [JSONValue] {
        _ = try required(key)
        return try optionalArray(key)!
    }

    /// An object member, kept as JSON (e.g. a strategy's parameters).
    func optionalObject(_ key: String) throws(APIError) -> JSONValue? {
        guard let value = try optional(key) else { return nil }
        guard case .object = value else { throw Self.wrongType(field(key), expected: "an object", got: value) }
        return value
    }

    /// One of a fixed set of strings.
    func optionalChoice<T: RawRepresentable>(_ key: String, _ type: T.Type, options: [String]) throws(APIError) -> T? where T.RawValue == String {
        guard let text = try optionalString(key) else { return nil }
        guard let value = T(rawValue: text) else {
            throw APIError(.badRequest, "invalid_value", "'\(field(key))' must be one of \(options.joined(separator: ", ")), not '\(text.prefix(40))'", field: field(key))
        }
        return value
    }

    /// A context vector: an array of numbers, or an object of numbers read in
    /// the order of its sorted keys.
    func optionalContext(_ key: String) throws(APIError) -> [Double]? {
        guard let value = try optional(key) else { return nil }
        switch value {
        case let .array(elements):
            var numbers: [Double] = []
            numbers.reserveCapacity(elements.count)
            for (index, element) in elements.enumerated() {
                numbers.append(try Self.number(element, "\(field(key))[\(index)]"))
            }
            return numbers
        case let .object(members):
            var numbers: [Double] = []
            for name in members.keys.sorted() {
                numbers.append(try Self.number(members[name]!, "\(field(key)).\(name)"))
            }
            return numbers
        default:
            throw Self.wrongType(field(key), expected: "an array of numbers or an object of numbers", got: value)
        }
    }

    // The field names below are built only for an error: most requests are
    // valid, and a name like "available_agents[12]" costs an allocation.

    static func string(_ value: JSONValue, _ field: @autoclosure () -> String) throws(APIError) -> String {
        guard case let .string(text) = value else { throw wrongType(field(), expected: "a string", got: value) }
        return text
    }

    static func number(_ value: JSONValue, _ field: @autoclosure () -> String) throws(APIError) -> Double {
        guard case let .number(number) = value else { throw wrongType(field(), expected: "a number", got: value) }
        return number
    }

    static func strings(_ value: JSONValue, _ field: @autoclosure () -> String) throws(APIError) -> [String] {
        guard case let .array(elements) = value else { throw wrongType(field(), expected: "an array of strings", got: value) }
        var strings: [String] = []
        strings.reserveCapacity(elements.count)
        for (index, element) in elements.enumerated() {
            strings.append(try string(element, "\(field())[\(index)]"))
        }
        return strings
    }
}
