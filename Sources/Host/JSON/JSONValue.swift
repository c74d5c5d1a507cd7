/// Any JSON value: a request body before it is read into a typed request, a
/// plugin's parameters, a strategy configuration, a config file.
///
/// Text becomes a `JSONValue` only through `JSONParser` (one acceptance rule
/// for every JSON the host reads) and a `JSONValue` becomes text only through
/// `JSONWriter`.
public enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    /// Parses JSON text; nil when it is not exactly one valid JSON value.
    public init?(parsing text: String) {
        var text = text
        let parsed: JSONValue? = text.withUTF8 { bytes in try? JSONParser.parse(bytes) }
        guard let parsed else { return nil }
        self = parsed
    }

    /// Compact JSON text with sorted keys, so equal values give equal text.
    public var text: String {
        JSONWriter.text(of: self)
    }

    /// The members of an object; nil for other values.
    public var objectValue: [String: JSONValue]? {
        if case let .object(members) = self { return members }
        return nil
    }

    /// The elements of an array; nil for other values.
    public var arrayValue: [JSONValue]? {
        if case let .array(elements) = self { return elements }
        return nil
    }

    /// The text of a string; nil for other values.
    public var stringValue: String? {
        if case let .string(text) = self { return text }
        return nil
    }

    /// The value of a number; nil for other values.
    public var numberValue: Double? {
        if case let .number(number) = self { return number }
        return nil
    }

    /// What kind of value this is, in words for an error message ("a string").
    public var kindDescription: String {
        switch self {
        case .null: "null"
        case .bool: "a boolean"
        case .number: "a number"
        case .string: "a string"
        case .array: "an array"
        case .object: "an object"
        }
    }
}

extension JSONValue: JSONWritable {
    /// Writes the value; object members in the order of their sorted keys.
    public func write(to writer: inout JSONWriter) {
        switch self {
        case .null: writer.null()
        case let .bool(value): writer.bool(value)
        case let .number(value): writer.number(value)
        case let .string(value): writer.string(value)
        case let .array(elements):
            writer.array(elements) { writer, element in element.write(to: &writer) }
        case let .object(members):
            writer.object { writer in
                for key in members.keys.sorted() {
                    writer.key(key)
                    members[key]!.write(to: &writer)
                }
            }
        }
    }
}
