public import Access
public import Engine
public import Hummingbird
public import JSON
internal import HummingbirdCore
public import Logging
internal import NIOCore
internal import PluginHost
internal import Synchronization

/// The HTTP API: the seed's `/api/learning` endpoints, the `/v1` API and the
/// operations endpoints, in front of an engine and a key ring it is given.
/// It owns neither: the host assembles them and runs them side by side.
public final class APIServer: Sendable {
    public let configuration: HTTPConfiguration
    public let engine: Engine
    public let keys: KeyRing
    let metrics: ServerMetrics
    let logger: Logger
    let startedAt = ContinuousClock.now
    private let boundPort = Atomic<Int>(0)
    private let routeTable = Mutex<[RouteDescription]>([])
    /// Open connections, for the connection limit.
    let connections: ConnectionRegistry
    /// The Kafka consumer's state for `/api/learning/status`, when one runs.
    let kafkaStatus: (@Sendable () -> JSONValue)?

    public init(configuration: HTTPConfiguration, engine: Engine, keys: KeyRing, metrics: ServerMetrics, logger: Logger,
                kafkaStatus: (@Sendable () -> JSONValue)? = nil) {
        self.kafkaStatus = kafkaStatus
        self.configuration = configuration
        self.engine = engine
        self.keys = keys
        self.metrics = metrics
        self.logger = logger
        connections = ConnectionRegistry(limit: configuration.maxConnections)
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
        registrar.registerEvaluation()
        registrar.registerOperations()
        registrar.registerCharts()
        if configuration.dashboard { registrar.registerDashboard() }
        routeTable.withLock { $0 = registrar.routes }
        return APIResponder(routes: registrar.table.build(), logger: logger)
    }

    /// The HTTP server as a service: it listens until graceful shutdown, then
    /// stops accepting and finishes its in-flight requests.
    /// - Parameter onRunning: called with the bound port once it listens.
    public func makeService(onRunning: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let (configuration, connections) = (self.configuration, self.connections)
        return Application(
            responder: makeResponder(),
            server: HTTPServerBuilder { responder in
                GuardedHTTP1Channel(responder: responder, configuration: configuration, registry: connections)
            },
            configuration: .init(address: .hostname(configuration.host, port: configuration.port), serverName: "arbiter",
                                 availableConnectionsDelegate: connections.gate),
            onServerRunning: { [self] channel in
                let port = channel.localAddress?.port ?? 0
                boundPort.store(port, ordering: .relaxed)
                await onRunning(port)
            },
            logger: logger)
    }

    /// Seconds since the server was made.
    var uptimeSeconds: Double {
        (ContinuousClock.now - startedAt).seconds
    }
}
