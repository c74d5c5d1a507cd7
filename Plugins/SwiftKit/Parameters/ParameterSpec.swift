/// One parameter a strategy accepts: its name, type, default and bounds. The
/// specs drive both the `parameters_json` the plugin describes itself with and
/// the validation of every configuration it is given.
public struct ParameterSpec: Sendable {
    /// The type, default and allowed values of a parameter.
    public enum Kind: Sendable {
        /// A finite number within bounds; an exclusive bound excludes itself.
        case number(default: Double, min: Double?, max: Double?, minExclusive: Bool = false, maxExclusive: Bool = false)
        /// An integer within inclusive bounds.
        case integer(default: Int, min: Int, max: Int)
        /// One string out of a fixed set.
        case choice(default: String, options: [String])
    }

    public var name: String
    public var summary: String
    public var kind: Kind

    public init(_ name: String, _ kind: Kind, summary: String) {
        self.name = name
        self.kind = kind
        self.summary = summary
    }

    /// The JSON object describing this parameter.
    var json: String {
        var fields = [("name", JSONText.string(name)), ("summary", JSONText.string(summary))]
        switch kind {
        case let .number(defaultValue, min, max, minExclusive, maxExclusive):
            fields.append(("type", JSONText.string("number")))
            fields.append(("default", JSONText.number(defaultValue)))
            if let min { fields.append((minExclusive ? "exclusive_minimum" : "minimum", JSONText.number(min))) }
            if let max { fields.append((maxExclusive ? "exclusive_maximum" : "maximum", JSONText.number(max))) }
        case let .integer(defaultValue, min, max):
            fields.append(("type", JSONText.string("integer")))
            fields.append(("default", String(defaultValue)))
            fields.append(("minimum", String(min)))
            fields.append(("maximum", String(max)))
        case let .choice(defaultValue, options):
            fields.append(("type", JSONText.string("string")))
            fields.append(("default", JSONText.string(defaultValue)))
            fields.append(("enum", JSONText.array(options.map(JSONText.string))))
        }
        return JSONText.object(fields)
    }

    /// Checks a configured value against this spec.
    func validate(_ value: ParameterValue) throws(StrategyError) -> ParameterValue {
        switch (kind, value) {
        case let (.number(_, min, max, minExclusive, maxExclusive), .number(number)):
            guard number.isFinite else {
                throw .invalidConfig("parameter '\(name)' must be a finite number")
            }
            if let min, minExclusive ? number <= min : number < min {
                throw .invalidConfig("parameter '\(name)' must be \(minExclusive ? ">" : ">=") \(JSONText.number(min)), got \(JSONText.number(number))")
            }
            if let max, maxExclusive ? number >= max : number > max {
                throw .invalidConfig("parameter '\(name)' must be \(maxExclusive ? "<" : "<=") \(JSONText.number(max)), got \(JSONText.number(number))")
            }
            return value
        case let (.integer(_, min, max), .number(number)):
            guard number.isFinite, number.rounded() == number else {
                throw .invalidConfig("parameter '\(name)' must be an integer, got \(JSONText.number(number))")
            }
            guard number >= Double(min), number <= Double(max) else {
                throw .invalidConfig("parameter '\(name)' must be between \(min) and \(max), got \(JSONText.number(number))")
            }
            return value
        case let (.choice(_, options), .string(text)):
            guard options.contains(text) else {
                throw .invalidConfig("parameter '\(name)' must be one of \(options.joined(separator: ", ")), got '\(text)'")
            }
            return value
        case (.number, _), (.integer, _):
            throw .invalidConfig("parameter '\(name)' must be a number, got \(value.typeName)")
        case (.choice, _):
            throw .invalidConfig("parameter '\(name)' must be a string, got \(value.typeName)")
        }
    }

    var defaultValue: ParameterValue {
        switch kind {
        case let .number(defaultValue, _, _, _, _): .number(defaultValue)
        case let .integer(defaultValue, _, _): .number(Double(defaultValue))
        case let .choice(defaultValue, _): .string(defaultValue)
        }
    }
}

/// The parameters document a plugin returns from `describe`.
func parametersDocument(_ descriptor: StrategyDescriptor) -> String {
    JSONText.object([
        ("parameters", JSONText.array(descriptor.parameters.map(\.json))),
        ("propensity", JSONText.string(descriptor.propensity)),
    ])
}
