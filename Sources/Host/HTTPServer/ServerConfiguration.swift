public import Storage
internal import FoundationEssentials
internal import PluginHost

/// Settings of `arbiter serve`. Each comes from, in rising precedence: its
/// default, the optional JSON config file, an environment variable, a flag.
/// Docs/configuration.md lists them.
public struct ServerConfiguration: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8080
    public var dataDirectory = "data"
    public var pluginDirectory: String?
    public var durability: Durability = .normal
    /// Largest request body accepted; larger ones get 413.
    public var maxBodyBytes = 2 * 1024 * 1024
    public var logLevel = "info"
    public var batchMaxSize = 1_000
    public var batchMaxWaitMilliseconds = 1.0
    public var queueCapacity = 100_000
    public var snapshotEveryEvents = 10_000
    public var snapshotIntervalSeconds = 60.0

    public init() {}

    /// The settings by name: file key, environment variable, and how to set it.
    static let settings: [(key: String, environment: String)] = [
        ("host", "ARBITER_HOST"), ("port", "ARBITER_PORT"), ("data_dir", "ARBITER_DATA_DIR"),
        ("plugin_dir", "ARBITER_PLUGIN_DIR"), ("durability", "ARBITER_DURABILITY"),
        ("max_body_bytes", "ARBITER_MAX_BODY_BYTES"), ("log_level", "ARBITER_LOG_LEVEL"),
        ("batch_max_size", "ARBITER_BATCH_MAX_SIZE"), ("batch_max_wait_ms", "ARBITER_BATCH_MAX_WAIT_MS"),
        ("queue_capacity", "ARBITER_QUEUE_CAPACITY"), ("snapshot_every_events", "ARBITER_SNAPSHOT_EVERY_EVENTS"),
        ("snapshot_interval_seconds", "ARBITER_SNAPSHOT_INTERVAL_SECONDS"),
    ]

    /// A setting that could not be used, naming it and where it came from.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    /// Sets one setting from its text form.
    public mutating func set(_ key: String, _ text: String, source: String) throws {
        func invalid(_ expected: String) -> Invalid {
            Invalid(description: "\(source): '\(key)' must be \(expected), got '\(text)'")
        }
        func integer(_ range: ClosedRange<Int>) throws -> Int {
            guard let value = Int(text), range.contains(value) else { throw invalid("an integer in \(range.lowerBound)...\(range.upperBound)") }
            return value
        }
        func number(_ range: ClosedRange<Double>) throws -> Double {
            guard let value = Double(text), range.contains(value) else { throw invalid("a number in \(range.lowerBound)...\(range.upperBound)") }
            return value
        }
        switch key {
        case "host": guard !text.isEmpty else { throw invalid("a host name or address") }; host = text
        case "port": port = try integer(0...65_535)
        case "data_dir": guard !text.isEmpty else { throw invalid("a directory") }; dataDirectory = text
        case "plugin_dir": pluginDirectory = text.isEmpty ? nil : text
        case "durability":
            guard let value = Durability(rawValue: text) else { throw invalid("normal or full") }
            durability = value
        case "max_body_bytes": maxBodyBytes = try integer(1_024...1_073_741_824)
        case "log_level":
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(text) else {
                throw invalid("one of trace, debug, info, notice, warning, error, critical")
            }
            logLevel = text
        case "batch_max_size": batchMaxSize = try integer(1...100_000)
        case "batch_max_wait_ms": batchMaxWaitMilliseconds = try number(0...10_000)
        case "queue_capacity": queueCapacity = try integer(1...100_000_000)
        case "snapshot_every_events": snapshotEveryEvents = try integer(1...1_000_000_000)
        case "snapshot_interval_seconds": snapshotIntervalSeconds = try number(0.001...86_400)
        default:
            throw Invalid(description: "\(source): unknown setting '\(key)'; the settings are: \(Self.settings.map(\.key).joined(separator: ", "))")
        }
    }

    /// Applies a JSON config file: an object of settings.
    public mutating func apply(file path: String) throws {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw Invalid(description: "config file \(path) cannot be read")
        }
        guard let members = JSONValue(parsing: String(decoding: data, as: UTF8.self))?.objectValue else {
            throw Invalid(description: "config file \(path) must be a JSON object of settings")
        }
        for (key, value) in members.sorted(by: { $0.key < $1.key }) {
            let text: String
            switch value {
            case let .string(string): text = string
            case let .number(number): text = number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
            case let .bool(bool): text = String(bool)
            default: throw Invalid(description: "config file \(path): '\(key)' must be a string or a number")
            }
            try set(key, text, source: "config file \(path)")
        }
    }

    /// Applies the `ARBITER_*` environment variables that are set.
    public mutating func apply(environment: [String: String]) throws {
        for (key, variable) in Self.settings {
            if let text = environment[variable] {
                try set(key, text, source: "environment variable \(variable)")
            }
        }
    }

    /// The database file.
    public var databasePath: String { dataDirectory + "/arbiter.sqlite" }
}
