public import Access
public import Engine
public import Hummingbird
public import Logging
public import PluginHost
internal import FoundationEssentials
internal import NIOCore
internal import ServiceLifecycle
internal import Synchronization

/// The HTTP server: the seed's `/api/learning` endpoints, the `/v1` API,
/// operations endpoints, API keys, metrics, and the engine's lifecycle.
public final class ArbiterServer: Sendable {
    public let configuration: ServerConfiguration
    public let engine: Engine
    public let keys: KeyRing
    public let catalog: PluginCatalog
    let metrics = ServerMetrics()
    let logger: Logger
    let startedAt = ContinuousClock.now
    private let boundPort = Atomic<Int>(0)
    private let routeTable = Mutex<[RouteDescription]>([])

    /// Opens the engine on the configured data directory (restoring every
    /// strategy) and the key ring.
    public init(configuration: ServerConfiguration, catalog: PluginCatalog, logger: Logger) throws {
        self.configuration = configuration
        self.catalog = catalog
        self.logger = logger
        try FileManager.default.createDirectory(atPath: configuration.dataDirectory, withIntermediateDirectories: true)
        var engineConfiguration = EngineConfiguration(databasePath: configuration.databasePath)
        engineConfiguration.durability = configuration.durability
        engineConfiguration.batchMaxSize = configuration.batchMaxSize
        engineConfiguration.batchMaxWait = .microseconds(Int64(configuration.batchMaxWaitMilliseconds * 1_000))
        engineConfiguration.queueCapacity = configuration.queueCapacity
        engineConfiguration.snapshotEveryEvents = configuration.snapshotEveryEvents
        engineConfiguration.snapshotInterval = .milliseconds(Int64(configuration.snapshotIntervalSeconds * 1_000))
        engineConfiguration.metrics = metrics.factory
        engine = try Engine.open(configuration: engineConfiguration, catalog: catalog, logger: logger)
        keys = try KeyRing(databasePath: configuration.databasePath)
    }

    /// The port the server listens on, once it runs (useful with port 0).
    public var port: Int { boundPort.load(ordering: .relaxed) }

    /// Every route the server registers, in OpenAPI path form.
    public var routes: [RouteDescription] { routeTable.withLock { $0 }.sorted() }

    /// Builds the responder with every route.
    func makeResponder() -> APIResponder {
        var registrar = RouteRegistrar(server: self)
        registrar.registerDecisionsAndFeedback()
        registrar.registerLearningAPI()
        registrar.registerExperiments()
        registrar.registerOperations()
        routeTable.withLock { $0 = registrar.routes }
        return APIResponder(routes: registrar.table.build(), logger: logger)
    }

    /// The application: the HTTP server with the engine service beside it.
    public func makeApplication(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        Application(
            responder: makeResponder(),
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "arbiter"),
            services: [EngineService(engine: engine, logger: logger)],
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? 0
                boundPort.store(port, ordering: .relaxed)
                await onRunning(port)
            },
            logger: logger)
    }

    /// Runs until SIGTERM or SIGINT, then shuts down gracefully: stops
    /// accepting, finishes in-flight requests, drains the queues, saves every
    /// strategy, and returns.
    public func run(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) async throws {
        try await makeApplication(onRunning: onRunning).runService()
    }
}
