import Access
import ArgumentParser
import Assembly
import Engine
import HTTPServer
import FoundationEssentials
import Logging
import PluginHost
import Storage

/// `arbiter serve`: the HTTP server.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Run the HTTP server (stops gracefully on SIGTERM or SIGINT).",
        discussion: """
            Settings come from, in rising precedence: defaults, a JSON config file (--config or \
            $ARBITER_CONFIG), ARBITER_* environment variables, flags. See Docs/configuration.md. \
            On first start with no API key, an admin key for tenant 'default' is written to \
            <data-dir>/bootstrap-key.
            """
    )

    @Option(help: ArgumentHelp("JSON config file (default: $ARBITER_CONFIG).", valueName: "path"))
    var config: String?
    @Option(help: "Address to listen on (default 127.0.0.1; 0.0.0.0 for every interface).")
    var host: String?
    @Option(help: "Port to listen on (default 8080; 0 picks a free port).")
    var port: Int?
    @Option(name: .customLong("data-dir"), help: ArgumentHelp("Directory of the SQLite database (default ./data).", valueName: "path"))
    var dataDirectory: String?
    @Option(name: .customLong("plugin-dir"), help: ArgumentHelp("Directory of strategy plugins (default: beside the executable).", valueName: "path"))
    var pluginDirectory: String?
    @Option(help: "Commit durability: normal or full.")
    var durability: Durability?
    @Option(name: .customLong("max-body-bytes"), help: "Largest request body accepted (default 2 MiB).")
    var maxBodyBytes: Int?
    @Option(name: .customLong("max-connections"), help: "Connections open at once (default 1024; the one idle longest makes room for a new one).")
    var maxConnections: Int?
    @Option(name: .customLong("log-level"), help: "trace, debug, info, notice, warning, error or critical (default info).")
    var logLevel: String?
    @Option(name: .customLong("kafka-brokers"), help: "Consume feedback from Kafka at these brokers (host:port,...; off by default).")
    var kafkaBrokers: String?
    @Option(name: .customLong("kafka-topics"), help: "Feedback topics, separated by commas (default arbiter-feedback).")
    var kafkaTopics: String?
    @Option(name: .customLong("kafka-group-id"), help: "The consumer group (default arbiter).")
    var kafkaGroupID: String?
    @Option(name: .customLong("kafka-dead-letter-topic"), help: "Where malformed and refused messages go (default: none, they are skipped).")
    var kafkaDeadLetterTopic: String?
    @Option(name: .customLong("kafka-properties"), help: "librdkafka properties, name=value,name=value (security settings included).")
    var kafkaProperties: String?
    @Option(name: .customLong("kafka-decisions-topic"), help: "Publish every decision to this topic once stored (default: none).")
    var kafkaDecisionsTopic: String?
    @Flag(inversion: .prefixedNo, help: "Serve the web dashboard at /dashboard (default: on).")
    var dashboard: Bool?
    @Option(name: .customLong("node-id"), help: "This host's number (1-255) among several that learn from the same Kafka topics (default 0: on its own).")
    var nodeID: Int?

    /// The settings from every source.
    func resolvedConfiguration() throws -> HostConfiguration {
        var configuration = HostConfiguration()
        let environment = ProcessInfo.processInfo.environment
        if let file = config ?? environment["ARBITER_CONFIG"] {
            try configuration.apply(file: file)
        }
        try configuration.apply(environment: environment)
        let flags: [(String, String?)] = [
            ("host", host), ("port", port.map(String.init)), ("data_dir", dataDirectory), ("plugin_dir", pluginDirectory),
            ("durability", durability?.rawValue), ("max_body_bytes", maxBodyBytes.map(String.init)),
            ("max_connections", maxConnections.map(String.init)), ("log_level", logLevel),
            ("kafka_brokers", kafkaBrokers), ("kafka_topics", kafkaTopics), ("kafka_group_id", kafkaGroupID),
            ("kafka_dead_letter_topic", kafkaDeadLetterTopic), ("kafka_properties", kafkaProperties),
            ("kafka_decisions_topic", kafkaDecisionsTopic), ("node_id", nodeID.map(String.init)),
            ("dashboard", dashboard.map(String.init)),
        ]
        for (key, value) in flags {
            if let value { try configuration.set(key, value, source: "flag --\(String(key.map { $0 == "_" ? "-" : $0 }))") }
        }
        return try configuration.checked()
    }

    func run() async throws {
        let configuration: HostConfiguration
        do {
            configuration = try resolvedConfiguration()
        } catch let error as HostConfiguration.Invalid {
            throw ValidationError(error.description)
        }
        let level = Logger.Level(rawValue: configuration.logLevel) ?? .info
        LoggingSystem.bootstrap { label in ConsoleLogHandler(label: label, level: level) }
        let logger = Logger(label: "arbiter")
        let plugins = PluginLibrary(directory: PluginDirectory.resolve(explicit: configuration.pluginDirectory),
                                    logger: Logger(label: "arbiter.plugins"))
        let host = try await ArbiterHost(configuration: configuration, plugins: plugins, logger: logger)
        try writeBootstrapKeyIfNeeded(host: host, logger: logger)
        try await host.run { port in
            logger.notice("arbiter listening on http://\(configuration.http.host):\(port) (data: \(configuration.dataDirectory), durability: \(configuration.engine.durability.rawValue))")
        }
    }

    /// On a database with no key, creates an admin key for tenant "default"
    /// and writes it to a file only the owner can read.
    func writeBootstrapKeyIfNeeded(host: ArbiterHost, logger: Logger) throws {
        guard try host.keys.isEmpty() else { return }
        let configuration = host.configuration
        let store = try Store(path: configuration.databasePath, durability: configuration.engine.durability)
        let (key, _) = try KeyAdministration.create(in: store, tenant: "default", admin: true, label: "bootstrap")
        let path = configuration.dataDirectory + "/bootstrap-key"
        guard FileManager.default.createFile(atPath: path, contents: Data((key.token + "\n").utf8),
                                             attributes: [.posixPermissions: 0o600]) else {
            throw CommandFailure("cannot write the bootstrap key to \(path)")
        }
        host.keys.invalidate()
        logger.notice("no API key existed: an admin key for tenant 'default' was written to \(path)")
    }
}
