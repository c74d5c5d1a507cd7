public import Engine
public import HTTPServer
public import Kafka
internal import FoundationEssentials
internal import JSON
internal import PluginHost
internal import Storage

/// Settings of `arbiter serve`: the host's own, the HTTP server's and the
/// engine's, each set once. Each comes from, in rising precedence: its
/// default, the optional JSON config file, an environment variable, a flag.
/// Docs/configuration.md lists them.
public struct HostConfiguration: Sendable {
    /// Directory of the database and the bootstrap key (the engine's).
    public var dataDirectory: String {
        get { engine.dataDirectory }
        set { engine.dataDirectory = newValue }
    }
    /// Directory of strategy plugins; nil for the default (see `PluginDirectory`).
    public var pluginDirectory: String?
    public var logLevel = "info"
    public var http = HTTPConfiguration()
    public var engine = EngineConfiguration(dataDirectory: "data")
    /// The Kafka feedback consumer; off unless brokers are given.
    public var kafka = KafkaConfiguration()

    public init() {}

    /// The database file.
    public var databasePath: String { engine.databasePath }

    /// A setting: its file key, its environment variable, and how its text sets it.
    struct Setting: Sendable {
        let key: String
        let environment: String
        let apply: @Sendable (inout HostConfiguration, String, (String) -> Invalid) throws -> Void
    }

    /// A setting that could not be used, naming it and where it came from.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    static let settings: [Setting] = [
        Setting(key: "host", environment: "ARBITER_HOST") { configuration, text, invalid in
            guard !text.isEmpty else { throw invalid("a host name or address") }
            configuration.http.host = text
        },
        Setting(key: "port", environment: "ARBITER_PORT") { configuration, text, invalid in
            configuration.http.port = try integer(text, 0...65_535, invalid)
        },
        Setting(key: "data_dir", environment: "ARBITER_DATA_DIR") { configuration, text, invalid in
            guard !text.isEmpty else { throw invalid("a directory") }
            configuration.dataDirectory = text
        },
        Setting(key: "plugin_dir", environment: "ARBITER_PLUGIN_DIR") { configuration, text, _ in
            configuration.pluginDirectory = text.isEmpty ? nil : text
        },
        Setting(key: "durability", environment: "ARBITER_DURABILITY") { configuration, text, invalid in
            guard let value = Durability(rawValue: text) else { throw invalid("normal or full") }
            configuration.engine.durability = value
        },
        Setting(key: "max_body_bytes", environment: "ARBITER_MAX_BODY_BYTES") { configuration, text, invalid in
            configuration.http.maxBodyBytes = try integer(text, 1_024...1_073_741_824, invalid)
        },
        Setting(key: "max_connections", environment: "ARBITER_MAX_CONNECTIONS") { configuration, text, invalid in
            configuration.http.maxConnections = try integer(text, 1...1_000_000, invalid)
        },
        Setting(key: "header_timeout_seconds", environment: "ARBITER_HEADER_TIMEOUT_SECONDS") { configuration, text, invalid in
            configuration.http.headerTimeout = .seconds(fractional: try number(text, 0.1...3_600, invalid))
        },
        Setting(key: "idle_timeout_seconds", environment: "ARBITER_IDLE_TIMEOUT_SECONDS") { configuration, text, invalid in
            configuration.http.idleTimeout = .seconds(fractional: try number(text, 0.1...86_400, invalid))
        },
        Setting(key: "discard_body_bytes", environment: "ARBITER_DISCARD_BODY_BYTES") { configuration, text, invalid in
            configuration.http.discardBodyBytes = try integer(text, 0...68_719_476_736, invalid)
        },
        Setting(key: "discard_body_timeout_seconds", environment: "ARBITER_DISCARD_BODY_TIMEOUT_SECONDS") { configuration, text, invalid in
            configuration.http.discardBodyTimeout = .seconds(fractional: try number(text, 0.1...3_600, invalid))
        },
        Setting(key: "kafka_brokers", environment: "ARBITER_KAFKA_BROKERS") { configuration, text, _ in
            configuration.kafka.brokers = text
        },
        Setting(key: "kafka_topics", environment: "ARBITER_KAFKA_TOPICS") { configuration, text, invalid in
            let topics = text.split(separator: ",").map { String($0.filter { !$0.isWhitespace }) }.filter { !$0.isEmpty }
            guard !topics.isEmpty else { throw invalid("topic names, separated by commas") }
            configuration.kafka.topics = topics
        },
        Setting(key: "kafka_group_id", environment: "ARBITER_KAFKA_GROUP_ID") { configuration, text, invalid in
            guard !text.isEmpty else { throw invalid("a consumer group id") }
            configuration.kafka.groupID = text
        },
        Setting(key: "kafka_dead_letter_topic", environment: "ARBITER_KAFKA_DEAD_LETTER_TOPIC") { configuration, text, _ in
            configuration.kafka.deadLetterTopic = text
        },
        Setting(key: "kafka_decisions_topic", environment: "ARBITER_KAFKA_DECISIONS_TOPIC") { configuration, text, _ in
            configuration.kafka.decisionsTopic = text
        },
        Setting(key: "node_id", environment: "ARBITER_NODE_ID") { configuration, text, invalid in
            configuration.engine.nodeID = try integer(text, 0...255, invalid)
        },
        Setting(key: "kafka_default_tenant", environment: "ARBITER_KAFKA_DEFAULT_TENANT") { configuration, text, invalid in
            guard !text.isEmpty else { throw invalid("a tenant name") }
            configuration.kafka.defaultTenant = text
        },
        Setting(key: "kafka_batch_size", environment: "ARBITER_KAFKA_BATCH_SIZE") { configuration, text, invalid in
            configuration.kafka.batchSize = try integer(text, 1...10_000, invalid)
        },
        Setting(key: "kafka_batch_wait_ms", environment: "ARBITER_KAFKA_BATCH_WAIT_MS") { configuration, text, invalid in
            configuration.kafka.batchWait = .seconds(fractional: try number(text, 0...10_000, invalid) / 1_000)
        },
        Setting(key: "kafka_properties", environment: "ARBITER_KAFKA_PROPERTIES") { configuration, text, invalid in
            // name=value pairs, separated by commas (librdkafka's own names).
            var properties: [String: String] = [:]
            for pair in text.split(separator: ",") {
                let parts = pair.split(separator: "=", maxSplits: 1).map { String($0.filter { !$0.isWhitespace }) }
                guard parts.count == 2, !parts[0].isEmpty else { throw invalid("librdkafka properties as name=value,name=value") }
                properties[parts[0]] = parts[1]
            }
            configuration.kafka.properties = properties
        },
        Setting(key: "dashboard", environment: "ARBITER_DASHBOARD") { configuration, text, invalid in
            guard let value = ["true": true, "false": false][text] else { throw invalid("true or false") }
            configuration.http.dashboard = value
        },
        Setting(key: "log_level", environment: "ARBITER_LOG_LEVEL") { configuration, text, invalid in
            guard ["trace", "debug", "info", "notice", "warning", "error", "critical"].contains(text) else {
                throw invalid("one of trace, debug, info, notice, warning, error, critical")
            }
            configuration.logLevel = text
        },
        Setting(key: "batch_max_size", environment: "ARBITER_BATCH_MAX_SIZE") { configuration, text, invalid in
            configuration.engine.batchMaxSize = try integer(text, 1...100_000, invalid)
        },
        Setting(key: "batch_max_wait_ms", environment: "ARBITER_BATCH_MAX_WAIT_MS") { configuration, text, invalid in
            configuration.engine.batchMaxWait = .seconds(fractional: try number(text, 0...10_000, invalid) / 1_000)
        },
        Setting(key: "queue_capacity", environment: "ARBITER_QUEUE_CAPACITY") { configuration, text, invalid in
            configuration.engine.queueCapacity = try integer(text, 1...100_000_000, invalid)
        },
        Setting(key: "wal_max_bytes", environment: "ARBITER_WAL_MAX_BYTES") { configuration, text, invalid in
            configuration.engine.maxLogBytes = try integer(text, 1_048_576...68_719_476_736, invalid)
        },
        Setting(key: "resident_memory_mb", environment: "ARBITER_RESIDENT_MEMORY_MB") { configuration, text, invalid in
            configuration.engine.residentMemoryBytes = try integer(text, 1...1_048_576, invalid) * 1_048_576
        },
        Setting(key: "slow_select_ms", environment: "ARBITER_SLOW_SELECT_MS") { configuration, text, invalid in
            configuration.engine.slowSelect = .seconds(fractional: try number(text, 0.01...10_000, invalid) / 1_000)
        },
        Setting(key: "check_integrity_at_start", environment: "ARBITER_CHECK_INTEGRITY_AT_START") { configuration, text, invalid in
            guard let value = ["true": true, "false": false][text] else { throw invalid("true or false") }
            configuration.engine.checkIntegrityAtStart = value
        },
        Setting(key: "snapshot_every_events", environment: "ARBITER_SNAPSHOT_EVERY_EVENTS") { configuration, text, invalid in
            configuration.engine.snapshotEveryEvents = try integer(text, 1...1_000_000_000, invalid)
        },
        Setting(key: "snapshot_interval_seconds", environment: "ARBITER_SNAPSHOT_INTERVAL_SECONDS") { configuration, text, invalid in
            configuration.engine.snapshotInterval = .seconds(fractional: try number(text, 0.001...86_400, invalid))
        },
    ]

    private static func integer(_ text: String, _ range: ClosedRange<Int>, _ invalid: (String) -> Invalid) throws -> Int {
        guard let value = Int(text), range.contains(value) else { throw invalid("an integer in \(range.lowerBound)...\(range.upperBound)") }
        return value
    }

    private static func number(_ text: String, _ range: ClosedRange<Double>, _ invalid: (String) -> Invalid) throws -> Double {
        guard let value = Double(text), value.isFinite, range.contains(value) else {
            throw invalid("a number in \(range.lowerBound)...\(range.upperBound)")
        }
        return value
    }

    /// Sets one setting from its text form; `source` says where it came from.
    public mutating func set(_ key: String, _ text: String, source: String) throws {
        guard let setting = Self.settings.first(where: { $0.key == key }) else {
            throw Invalid(description: "\(source): unknown setting '\(key)'; the settings are: \(Self.settings.map(\.key).joined(separator: ", "))")
        }
        try setting.apply(&self, text) { expected in
            Invalid(description: "\(source): '\(key)' must be \(expected), got '\(text)'")
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

    /// Checks the settings that depend on each other, once all are applied.
    public func checked() throws -> HostConfiguration {
        guard engine.nodeID == 0 || kafka.enabled else {
            throw Invalid(description: "'node_id' \(engine.nodeID) makes this host one of several that learn from Kafka; set 'kafka_brokers' too (Docs/kafka.md)")
        }
        return self
    }

    /// The Kafka settings as the consumer uses them: a host that is one of
    /// several (a node id) consumes in a group of its own, so that it reads
    /// every partition, as each host holds the whole state.
    public var effectiveKafka: KafkaConfiguration {
        var kafka = self.kafka
        if engine.nodeID > 0 { kafka.groupID += "-node-\(engine.nodeID)" }
        return kafka
    }

    /// Applies the `ARBITER_*` environment variables that are set.
    public mutating func apply(environment: [String: String]) throws {
        for setting in Self.settings {
            if let text = environment[setting.environment] {
                try set(setting.key, text, source: "environment variable \(setting.environment)")
            }
        }
    }
}
