internal import JSON

/// An experiment's arm names as stored in its row: a JSON array of strings,
/// in index order.
public enum ArmNames {
    public static func encode(_ names: [String]) -> String {
        JSONWriter.text(of: JSONValue.array(names.map(JSONValue.string)))
    }

    /// The names; nil when the text is not an array of strings.
    public static func decode(_ text: String) -> [String]? {
        guard let elements = JSONValue(parsing: text)?.arrayValue else { return nil }
        var names: [String] = []
        names.reserveCapacity(elements.count)
        for element in elements {
            guard let name = element.stringValue else { return nil }
            names.append(name)
        }
        return names
    }
}
