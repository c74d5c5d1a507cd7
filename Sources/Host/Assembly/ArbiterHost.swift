public import Access
public import Engine
public import HTTPServer
public import Kafka
internal import JSON
public import Logging
public import PluginHost
public import ServiceLifecycle
internal import UnixSignals

/// The host assembled: the engine, the key ring and the HTTP server, built
/// here as siblings and run as services of one group with one lifecycle. No
/// part owns another's lifetime; later inputs (a Kafka consumer, the plugin
/// reloader) join the same group.
public final class ArbiterHost: Sendable {
    public let configuration: HostConfiguration
    public let engine: Engine
    public let keys: KeyRing
    public let server: APIServer
    /// The Kafka feedback consumer, when Kafka is configured.
    public let kafka: KafkaFeedbackConsumer?
    /// The publisher of decisions, when a decisions topic is configured.
    public let decisionPublisher: KafkaDecisionPublisher?
    let logger: Logger

    /// Opens the engine on the configured data directory (restoring every
    /// strategy) and the key ring, and builds the HTTP server in front of them.
    public convenience init(configuration: HostConfiguration, catalog: PluginCatalog, logger: Logger) async throws {
        try await self.init(configuration: configuration, plugins: PluginLibrary(catalog: catalog), logger: logger)
    }

    /// Opens the engine (which loads the library's plugins, when it is built
    /// on a directory, once the data directory passed its checks), the key
    /// ring, and the HTTP server in front of them.
    public init(configuration: HostConfiguration, plugins: PluginLibrary, logger: Logger) async throws {
        self.configuration = configuration
        self.logger = logger
        let metrics = ServerMetrics()
        var engineConfiguration = configuration.engine
        engineConfiguration.metrics = metrics.factory
        engine = try Engine.open(configuration: engineConfiguration, plugins: plugins, logger: logger)
        do {
            keys = try KeyRing(databasePath: configuration.databasePath)
        } catch {
            await engine.shutdown()
            throw error
        }
        var http = configuration.http
        if let descriptors = FileDescriptorLimit.raise(), http.maxConnections > descriptors - FileDescriptorLimit.reserved {
            let cap = max(1, descriptors - FileDescriptorLimit.reserved)
            logger.warning("max_connections \(http.maxConnections) is above what the open-file limit (\(descriptors)) allows: using \(cap); raise the limit (ulimit -n) for more")
            http.maxConnections = cap
        }
        let kafka = configuration.kafka.enabled
            ? KafkaFeedbackConsumer(configuration: configuration.effectiveKafka, engine: engine, logger: Logger(label: "arbiter.kafka")) : nil
        self.kafka = kafka
        decisionPublisher = configuration.kafka.enabled && !configuration.kafka.decisionsTopic.isEmpty
            ? try KafkaDecisionPublisher(configuration: configuration.kafka, engine: engine, logger: Logger(label: "arbiter.kafka")) : nil
        var kafkaStatus: (@Sendable () -> JSONValue)?
        if let kafka { kafkaStatus = { kafka.statusJSON } }
        server = APIServer(configuration: http, engine: engine, keys: keys, metrics: metrics, logger: logger, kafkaStatus: kafkaStatus)
    }

    /// The services, in start order; graceful shutdown stops them in reverse
    /// order: the HTTP server stops accepting and answers its in-flight
    /// requests first, then the engine drains its queues and saves.
    public func services(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> [any Service] {
        // Stopped in reverse: the HTTP server, then the consumer (its batch
        // in flight stored with its offsets), then the engine.
        var services: [any Service] = []
        // The publisher stops after the engine, which publishes as it drains.
        if let decisionPublisher { services.append(decisionPublisher) }
        services += [EngineService(engine: engine, logger: logger), PluginReloadService(engine: engine, logger: logger)]
        if let kafka { services.append(kafka) }
        services.append(server.makeService(onRunning: onRunning))
        return services
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully and returns.
    /// - Parameter onRunning: called with the bound port once the server listens.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        let group = ServiceGroup(configuration: .init(
            services: services(onRunning: onRunning), gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
