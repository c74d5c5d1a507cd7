internal import FoundationEssentials

/// One value of a JSON configuration object.
enum ParameterValue: Decodable {
    case number(Double)
    case string(String)
    case bool(Bool)
    case null
    case composite

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if container.decodeNil() {
            self = .null
        } else if let bool = try? container.decode(Bool.self) {
            self = .bool(bool)
        } else if let number = try? container.decode(Double.self) {
            self = .number(number)
        } else if let string = try? container.decode(String.self) {
            self = .string(string)
        } else {
            self = .composite
        }
    }

    var typeName: String {
        switch self {
        case .number: "a number"
        case .string: "a string"
        case .bool: "a boolean"
        case .null: "null"
        case .composite: "an array or object"
        }
    }
}

/// A strategy configuration, parsed from JSON and validated against the
/// strategy's parameter specs: unknown names, wrong types and out-of-range
/// values are refused; absent parameters take their defaults.
public struct StrategyParameters: Sendable {
    private let values: [String: Double]
    private let choices: [String: String]

    /// Parses and validates `json`, a JSON object (an empty string means `{}`).
    public init(json: String, specs: [ParameterSpec]) throws(StrategyError) {
        let given: [String: ParameterValue]
        // Nothing to decode for the defaults (every experiment created on
        // first use with a default configuration comes this way).
        let compact = json.filter { !$0.isWhitespace }
        if compact.isEmpty || compact == "{}" {
            given = [:]
        } else {
            do {
                given = try JSONDecoder().decode([String: ParameterValue].self, from: Data(json.utf8))
            } catch {
                throw .invalidConfig("configuration must be a JSON object of parameters, e.g. {\"name\": value}")
            }
        }
        let known = Dictionary(uniqueKeysWithValues: specs.map { ($0.name, $0) })
        for name in given.keys.sorted() where known[name] == nil {
            let list = specs.map(\.name).joined(separator: ", ")
            throw .invalidConfig("unknown parameter '\(name)'; this strategy takes: \(list)")
        }
        var values: [String: Double] = [:]
        var choices: [String: String] = [:]
        for spec in specs {
            let value = try given[spec.name].map { value throws(StrategyError) in try spec.validate(value) } ?? spec.defaultValue
            switch value {
            case let .number(number): values[spec.name] = number
            case let .string(text): choices[spec.name] = text
            default: break
            }
        }
        self.values = values
        self.choices = choices
    }

    /// The value of a `.number` parameter.
    public func number(_ name: String) -> Double {
        guard let value = values[name] else { preconditionFailure("no number parameter '\(name)' in the specs") }
        return value
    }

    /// The value of an `.integer` parameter.
    public func integer(_ name: String) -> Int {
        Int(number(name))
    }

    /// The value of a `.choice` parameter.
    public func choice(_ name: String) -> String {
        guard let value = choices[name] else { preconditionFailure("no choice parameter '\(name)' in the specs") }
        return value
    }
}
